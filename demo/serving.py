"""How the app is served: queues and limits, ZeroGPU support, launch settings from the environment."""

from __future__ import annotations

import os

try:  # Hugging Face ZeroGPU: GPU work must run inside a function wrapped by spaces.GPU.
    import spaces

    gpu = spaces.GPU(duration=300)
except ImportError:  # anywhere else the wrapper does nothing
    def gpu(fn):
        return fn

# On a CPU server, training gets all cores but one, so a core stays free for predictions.
TRAIN_THREADS = int(os.environ.get("FMNIST_TRAIN_THREADS", max(1, (os.cpu_count() or 2) - 1)))
MAX_UPLOAD = "10mb"  # uploads above this are refused by the server before any handler runs
PREDICT_CONCURRENCY = 4  # prediction handlers running at once (each is a few ms of CPU)
# Waiting requests beyond this get a "queue is full" answer instead of piling up.
QUEUE_SIZE = int(os.environ.get("FMNIST_QUEUE_SIZE", "64"))


def launch_kwargs() -> dict:
    """Arguments for Blocks.launch(): host/port from GRADIO_SERVER_NAME/PORT, upload limit, no extras."""
    return {
        "server_name": os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        "server_port": int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        "max_file_size": MAX_UPLOAD,
        "enable_monitoring": False,
        "show_error": False,
    }


def configure_torch() -> None:
    """Thread settings for serving: see TRAIN_THREADS."""
    import torch

    if not torch.cuda.is_available():
        torch.set_num_threads(max(1, TRAIN_THREADS))


def configure_queue(demo):
    """Bounded queue; prediction and training run in separate concurrency groups."""
    return demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=PREDICT_CONCURRENCY)
