"""How the app is served: queues and limits, ZeroGPU support, launch settings from the environment."""

from __future__ import annotations

import os

try:  # Hugging Face ZeroGPU: GPU work must run inside a function wrapped by spaces.GPU.
    import spaces

    gpu = spaces.GPU(duration=300)
except ImportError:  # anywhere else the wrapper does nothing
    def gpu(fn):
        return fn


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
MAX_TRAININGS = _setting("FMNIST_MAX_TRAININGS", 1, 1)  # trainings at once; the others wait in the queue
# One run may train this long before it is stopped (its model kept), so one student cannot hold a shared
# server's training queue for an hour.
MAX_TRAIN_MINUTES = _setting("FMNIST_MAX_TRAIN_MINUTES", 30.0, 0.01, whole=False)
MAX_UPLOAD = "10mb"  # uploads above this are refused by the server before any handler runs
PREDICT_CONCURRENCY = 4  # prediction handlers running at once (each is a few ms of CPU)
# Waiting requests beyond this get a "queue is full" answer instead of piling up.
QUEUE_SIZE = _setting("FMNIST_QUEUE_SIZE", 64, 1)


def launch_kwargs() -> dict:
    """Arguments for Blocks.launch(): host/port from GRADIO_SERVER_NAME/PORT, upload limit, the phone
    layout's CSS, no extras."""
    from demo.predict_tab import PHONE_CSS

    return {
        "css": PHONE_CSS,
        "server_name": os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        "server_port": int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        "max_file_size": MAX_UPLOAD,
        "enable_monitoring": False,
        "show_error": False,
    }


def configure_torch() -> None:
    """Thread settings for serving (see TRAIN_THREADS); glibc's allocator tuned for CPU training."""
    import torch

    from fmnist.train import tune_allocator

    tune_allocator()

    if not torch.cuda.is_available():
        torch.set_num_threads(max(1, TRAIN_THREADS))


def configure_queue(demo):
    """Bounded queue; prediction and training run in separate concurrency groups."""
    return demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=PREDICT_CONCURRENCY)
