"""How the app is served: queues and limits, ZeroGPU support, launch settings from the environment."""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

from fmnist.atomic import write_atomically



def on_zero_gpu() -> bool:
    """Whether this is a Hugging Face ZeroGPU Space (which sets SPACES_ZERO_GPU, as `spaces` reads it)."""
    return os.environ.get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "t", "true")


def gpu(duration):
    """spaces.GPU(duration=...) where `spaces` is installed (on ZeroGPU it runs the function in a worker
    process with a GPU, asking the scheduler for `duration(*args)` seconds; elsewhere it returns the
    function unchanged); without `spaces`, the function itself."""
    try:
        import spaces
    except ImportError:
        return lambda fn: fn
    return spaces.GPU(duration=duration)


class SettingError(ValueError):
    """A server setting from the environment that cannot be used (the message names it)."""


def env_number(name: str, default: float, minimum: float, whole: bool = True) -> float:
    """A setting from the environment, or a SettingError that names it (so a typo stops the app at once)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not value >= minimum or value == float("inf"):
        kind = "a whole number" if whole else "a number"
        raise SettingError(f"{name} must be {kind} >= {minimum:g}, got {raw!r}")
    return value


def _setting(name: str, default: float, minimum: float, whole: bool = True) -> float:
    """env_number for this module's settings: a bad one ends `python app.py` with one line, no traceback."""
    try:
        return env_number(name, default, minimum, whole)
    except SettingError as err:
        raise SystemExit(f"error: {err}") from None


# On a CPU server, training gets all cores but one, so a core stays free for predictions.
TRAIN_THREADS = _setting("FMNIST_TRAIN_THREADS", max(1, (os.cpu_count() or 2) - 1), 1)
# Trainings at once; the others wait in the queue. On a CPU server one, so it keeps a core for predictions; on
# ZeroGPU each training runs on a GPU of the pool, charged to its own visitor, so they need not wait for each other.
MAX_TRAININGS = _setting("FMNIST_MAX_TRAININGS", 8 if on_zero_gpu() else 1, 1)
# Runs that wait for a training slot inside the app's own queue, each told its place and the wait; more than
# this wait in Gradio's queue (a waiting run holds one of Gradio's worker threads).
WAITING_ROOM = _setting("FMNIST_WAITING_ROOM", 16, 0)
# The most GPU time one run may ask ZeroGPU for (charged to the visitor's daily quota); longer runs are refused.
MAX_GPU_SECONDS = _setting("FMNIST_MAX_GPU_SECONDS", 120, 10)
# One run may train this long before it is stopped (its model kept), so one student cannot hold a shared
# server's training queue for an hour.
MAX_TRAIN_MINUTES = _setting("FMNIST_MAX_TRAIN_MINUTES", 30.0, 0.01, whole=False)
MAX_UPLOAD = "10mb"  # uploads above this are refused by the server before any handler runs
PREDICT_CONCURRENCY = 4  # prediction handlers running at once (each is a few ms of CPU)
# Waiting requests beyond this get a "queue is full" answer instead of piling up.
QUEUE_SIZE = _setting("FMNIST_QUEUE_SIZE", 64, 1)


def launch_kwargs() -> dict:
    """Arguments for Blocks.launch(): host/port from GRADIO_SERVER_NAME/PORT, upload limit, the theme, the page's CSS
    (narrow margins on a phone), the Predict tab's CSS (phone layout, pictures) and the Train tab's (the figures'
    sizes on a projector and a phone), the accessibility fixes of the Predict tab, its answer lines' steady heights, the
    Train tab's scroll to a started run on a phone, no extras."""
    from demo.layout import PAGE_CSS, THEME
    from demo.predict_tab import ACCESSIBLE_TEXTS, NAMES_JS, PREDICT_CSS, STEADY_JS
    from demo.train_tab import SHOW_RUN_JS, TRAIN_CSS

    return {
        "theme": THEME,
        "css": PAGE_CSS + PREDICT_CSS + TRAIN_CSS,
        "js": f"() => {{ ({NAMES_JS})(); ({STEADY_JS})(); ({SHOW_RUN_JS})(); }}",
        "i18n": ACCESSIBLE_TEXTS,
        "server_name": os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        "server_port": int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        "max_file_size": MAX_UPLOAD,
        "enable_monitoring": False,
        "show_error": False,
    }


def configure_torch() -> None:
    """Thread settings for serving (see TRAIN_THREADS); glibc's allocator tuned for CPU training; what a run's
    first optimizer imports, imported now."""
    import torch

    from fmnist.train import tune_allocator

    tune_allocator()
    # A process's first Adam() imports torch._dynamo (1.7 s on a 2-core EPYC): done once here, at start, so the
    # first student's run does not wait for it, nor does any run in a ZeroGPU worker forked from this process.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])

    if not torch.cuda.is_available():
        torch.set_num_threads(max(1, TRAIN_THREADS))


def configure_queue(demo):
    """Bounded queue; prediction and training run in separate concurrency groups."""
    write_pictures_whole()
    return demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=PREDICT_CONCURRENCY)


def write_pictures_whole() -> None:
    """Gradio 6.31 saves each picture a handler returns (the 28x28 preview, the evidence map, the feature maps) to its
    cache as `<hash of its bytes>/image.png`, truncating the file and writing it again even when it is there. Two
    handlers returning the same picture at once rewrote it while the browser fetched it: the page got 0 bytes and
    showed a broken picture (an upload is answered twice when the box held a photo, 5 ms apart, and the two runs
    overlap; tests/test_browser.py met it in about one run in five under load). Same name, same bytes: a file that is
    there is kept, a new one is written beside it and renamed into place (Gradio's own copies of files are written
    so). Idempotent; Gradio's other cache writers are left as they are."""
    from gradio import processing_utils as pu

    if getattr(pu.save_pil_to_cache, "whole", False):
        return

    def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
        data = pu.encode_pil_to_bytes(img, format)
        path = (Path(cache_dir) / pu.hash_bytes(data) / f"{name}.{format}").resolve()
        if not (path.is_file() and path.stat().st_size == len(data)):
            write_atomically(path, lambda f: f.write(data), prefix=".image-", durable=False)
        return str(path)

    save_pil_to_cache.whole = True
    pu.save_pil_to_cache = save_pil_to_cache


SESSION_GRACE_S = 10.0  # a closed session's state is dropped this long after the tab closed (its run stops first)


def release_session(request, after_s: float = SESSION_GRACE_S) -> threading.Timer | None:
    """The student closed the tab: drop their session's gr.State values (trained and loaded models, runs) from
    Gradio's state holder after after_s seconds (Gradio itself keeps a closed session's state for an hour, so a
    class's models would pile up), then give the freed heap back to the operating system."""
    app = getattr(getattr(request, "request", None), "app", None)
    holder, session = getattr(app, "state_holder", None), getattr(request, "session_hash", None)
    if holder is None or session is None:
        return None

    def drop() -> None:
        with holder.lock:
            state = holder.session_data.get(session)
            if state is None or not state.is_closed:
                return
        holder.delete_state(session)
        with holder.lock:
            holder.session_data.pop(session, None)
            holder.time_last_used.pop(session, None)
        trim_heap()

    timer = threading.Timer(after_s, drop)
    timer.daemon = True
    timer.start()
    return timer


def trim_heap() -> bool:
    """Return freed heap memory to the OS (glibc's malloc_trim; the raised trim threshold of
    fmnist.train.tune_allocator otherwise keeps it in the process)."""
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False
