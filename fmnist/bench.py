"""`python -m fmnist bench`: training throughput against a tutorial-style baseline and prediction latency,
in process (the app's serving latency is measured by `python -m demo.loadtest`)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from fmnist.data import IDX_FILES, FashionMNIST, encode_idx
from fmnist.models import build_model
from fmnist.sketches import sample_drawing
from fmnist.train import StepRecord, TrainConfig, describe_device, prepare_run, train_epochs

# LeNet per image: 0.83 MFLOP forward; forward + backward (no input gradient for conv1) about 2.3 MFLOP.
LENET_TRAIN_FLOP = 2.3e6


def _write_raw_idx(data: FashionMNIST, root: Path) -> None:
    """The dataset as torchvision's FashionMNIST expects it on disk: ROOT/FashionMNIST/raw/*-ubyte."""
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    arrays = {"train_images": data.train_images, "train_labels": data.train_labels,
              "test_images": data.test_images, "test_labels": data.test_labels}
    for key, stem in IDX_FILES.items():
        (raw / stem).write_bytes(encode_idx(arrays[key].to(torch.uint8).numpy()))


def baseline_images_per_s(data: FashionMNIST, batch_size: int, steps: int, device: torch.device) -> float:
    """What a tutorial writes: torchvision dataset + ToTensor + DataLoader, softmax-free LeNet, Adam."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    with tempfile.TemporaryDirectory() as tmp:
        _write_raw_idx(data, Path(tmp))
        train_set = datasets.FashionMNIST(tmp, train=True, download=False, transform=transforms.ToTensor())
        loader = DataLoader(train_set, batch_size=batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
        model = build_model("lenet", seed=0).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        warmup, images, start = 5, 0, 0.0
        for i, (x, y) in enumerate(loader):
            if i == warmup:
                _sync(device)
                start, images = time.perf_counter(), 0
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            images += len(y)
            if i == warmup + steps - 1:
                break
        _sync(device)
        return images / (time.perf_counter() - start)


def project_images_per_s(data: FashionMNIST, batch_size: int, steps: int, device: str) -> float:
    """This project's training loop (train_epochs), timed over `steps` steps after a warm-up."""
    log = max(1, steps // 5)
    run = prepare_run(TrainConfig(batch_size=batch_size, epochs=50, device=device, log_every=log))
    gen = train_epochs(run, data)
    records = []
    for rec in gen:
        if isinstance(rec, StepRecord):
            records.append(rec)
        if len(records) == 1 + steps // log:
            break
    gen.close()
    windows = [(r.step - p.step) * batch_size for p, r in zip(records, records[1:])]  # first: set-up, skipped
    return sum(windows) / sum(n / r.images_per_s for n, r in zip(windows, records[1:]))


# Profiler names (prefixes) of the operations in each part of a training step; each is a top-level op,
# so their total times do not overlap.
STEP_PARTS = {"convolutions": "aten::convolution", "pooling": "aten::avg_pool2d", "optimizer": "Optimizer."}


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null: the profiler's C++ layer (Kineto) prints start/stop lines, and
    on a CUDA build without a GPU an "ERROR ... gpuGetDeviceCount" line, that mean nothing here."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def step_breakdown(data: FashionMNIST, batch_size: int, steps: int) -> dict[str, float]:
    """Milliseconds per step of this project's CPU training loop spent in LeNet's two convolutions
    (forward and backward), its two average-pools, Adam (step and zero_grad) and everything else,
    from torch.profiler over `steps` steps of one epoch (the profiler itself adds a little to "rest")."""
    from torch.profiler import ProfilerActivity, profile

    log = 10
    run = prepare_run(TrainConfig(batch_size=batch_size, epochs=2, device="cpu", log_every=log))
    steps_per_epoch = len(data.train_labels) // batch_size
    steps = max(log, min(steps, (steps_per_epoch - log) // log * log))  # no end-of-epoch evaluation inside
    gen = train_epochs(run, data)
    next(gen)  # the first `log` steps: warm-up
    with _native_stderr_silenced():
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            start = time.perf_counter()
            for _ in range(steps // log):
                next(gen)
            wall_ms = (time.perf_counter() - start) * 1000 / steps
        events = prof.key_averages()
    gen.close()
    parts = {name: sum(e.cpu_time_total for e in events if e.key.startswith(prefix)) / 1000 / steps
             for name, prefix in STEP_PARTS.items()}
    parts["rest"] = wall_ms - sum(parts.values())
    return {"total": round(wall_ms, 2), **{k: round(v, 2) for k, v in parts.items()}}


def epoch_seconds_by_size(data: FashionMNIST, sizes: list[int], device: str) -> dict[int, float]:
    """Seconds of training steps for one full epoch over 10k/30k/60k images at batch 100."""
    out = {}
    for n in sizes:
        run = prepare_run(TrainConfig(batch_size=100, epochs=1, device=device, log_every=10**6,
                                      subset=None if n >= len(data.train_labels) else n))
        epoch = [r for r in train_epochs(run, data) if not isinstance(r, StepRecord)][0]
        out[n] = round(epoch.epoch_s, 2)
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bf16_step_ms(model: str = "cnn", options: dict | None = None, batch_size: int = 128, steps: int = 5,
                 device: str = "cpu") -> dict[str, float]:
    """Median time of one Adam step (forward, loss, backward, update) of a freshly built `model` on random images, in
    float32 and in bfloat16 autocast, the two taking turns after a warm-up step each: {"float32_ms", "bfloat16_ms"}.
    Whether `--bf16` pays here: it runs on the CPU's bfloat16 instructions where there are any, and they are not
    always the faster (README, *Performance*). Uses its own generator, so a run that measures first trains the same."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch_size, 1, 28, 28, generator=gen).to(device, memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch_size,), generator=gen).to(device)
    nets = {}
    for name in ("float32", "bfloat16"):
        net = build_model(model, seed=0, **(options or {})).to(device, memory_format=torch.channels_last).train()
        nets[name] = (net, torch.optim.Adam(net.parameters(), lr=1e-3))
    times: dict[str, list[float]] = {name: [] for name in nets}
    for i in range(steps + 1):
        for name, (net, optimizer) in nets.items():
            _sync(torch.device(device))
            start = time.perf_counter()
            with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=name == "bfloat16"):
                loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            _sync(torch.device(device))
            if i:  # the first step of each sets up its kernels
                times[name].append((time.perf_counter() - start) * 1000)
    return {f"{name}_ms": round(float(np.median(t)), 1) for name, t in times.items()}


def bf16_measured_warning(model: str, options: dict, batch_size: int, device: torch.device,
                          measure=None) -> str | None:
    """Why `--bf16` would not pay for this net on this CPU, measured (bf16_step_ms), or None where bfloat16 is the
    faster or the device is not a CPU (on a GPU with bfloat16 it pays). For a CPU that has bfloat16 instructions:
    one without them is told so by fmnist.train.bf16_warning without measuring."""
    if device.type != "cpu":
        return None
    t = (measure or bf16_step_ms)(model, options, batch_size)
    if t["bfloat16_ms"] < t["float32_ms"]:
        return None
    return (f"bf16: on this CPU a training step of this net takes {t['bfloat16_ms']:.0f} ms in bfloat16 against "
            f"{t['float32_ms']:.0f} ms in float32 (measured just now): leave out --bf16 to train faster, or keep it to "
            f"repeat a run that used it")


def _percentiles(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def sample_photo_bytes() -> bytes:
    """A 1200x900 JPEG 'photo': a dark garment-like shape on an off-white, slightly noisy background."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    arr = (rng.normal(235, 6, (900, 1200, 3))).clip(0, 255).astype(np.uint8)
    img = Image.fromarray(arr)
    ImageDraw.Draw(img).polygon([(450, 100), (750, 100), (800, 800), (640, 800), (600, 300), (560, 800),
                                 (400, 800)], fill=(40, 50, 90))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def predict_latency(runs: int) -> dict[str, dict[str, float]]:
    """Preprocessing + forward, in process, for an 800x800 drawing and a 1200x900 JPEG upload."""
    from fmnist.checkpoint import load_checkpoint
    from fmnist.predict import predict_proba, to_input
    from fmnist.preprocess import preprocess_drawing, preprocess_image

    model, meta = load_checkpoint("default")
    norm = meta["normalization"]
    drawing, photo = sample_drawing(), sample_photo_bytes()
    out = {}
    for name, fn in (("drawing_800", lambda: preprocess_drawing(drawing)),
                     ("photo_1200x900_jpeg", lambda: preprocess_image(photo))):
        times = []
        for i in range(runs + 5):
            t = time.perf_counter()
            predict_proba(model, to_input(fn(), norm))
            if i >= 5:
                times.append((time.perf_counter() - t) * 1000)
        out[name] = _percentiles(times)
    return out


def run_bench(device: torch.device, data: FashionMNIST, quick: bool = False) -> dict:
    """Every library measurement, as one JSON-able dict: training throughput against the baseline at three
    batch sizes, where a CPU step's time goes, epoch time by training-set size, prediction latency."""
    steps = 40 if quick else 300
    result: dict = {"device": describe_device(device), "torch": str(torch.__version__), "steps_timed": steps}
    train = {}
    for bs in (100, 32, 256):
        base = baseline_images_per_s(data, bs, steps, device)
        ours = project_images_per_s(data, bs, steps, str(device))
        train[bs] = {"baseline_images_per_s": round(base), "train_images_per_s": round(ours),
                     "speedup": round(ours / base, 2), "baseline_epoch_s": round(60000 / base, 2),
                     "train_epoch_s": round(60000 / ours, 2),
                     "train_gflop_per_s": round(ours * LENET_TRAIN_FLOP / 1e9, 1)}
    result["training"] = train
    result["train_images_per_s"] = train[100]["train_images_per_s"]
    result["baseline_images_per_s"] = train[100]["baseline_images_per_s"]
    result["train_speedup"] = train[100]["speedup"]
    if device.type == "cpu":
        result["train_step_ms"] = step_breakdown(data, 100, steps)
    # the shipped default's net at its batch size: does its recipe's --bf16 pay on this device?
    result["default_step_ms"] = bf16_step_ms("cnn", {"width": 48, "stages": 3}, 128, 3 if quick else 12, str(device))
    if not quick:
        result["epoch_s_by_train_size"] = epoch_seconds_by_size(data, [10000, 30000, 60000], str(device))
    latency = predict_latency(50 if quick else 300)
    result["predict"] = latency
    result["predict_p50_ms"] = latency["drawing_800"]["p50_ms"]
    result["predict_p99_ms"] = latency["drawing_800"]["p99_ms"]
    return result
