"""`python -m fmnist bench`: training throughput against a tutorial-style baseline, prediction
latency in process and through the running app, and the app's memory; all in one run."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from fmnist.data import IDX_FILES, FashionMNIST, encode_idx, load_fashion_mnist
from fmnist.models import build_model
from fmnist.train import StepRecord, TrainConfig, describe_device, pick_device, prepare_run, train_epochs

ROOT = Path(__file__).resolve().parent.parent
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


def _percentiles(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def sample_drawing(size: int = 800) -> np.ndarray:
    """A sketchpad-sized RGBA drawing: a trouser outline in 14-pixel strokes on a transparent layer."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    s = size / 280
    pts = [(90, 30), (190, 30), (205, 250), (160, 250), (140, 90), (120, 250), (75, 250), (90, 30)]
    ImageDraw.Draw(img).line([(x * s, y * s) for x, y in pts], fill=(0, 0, 0, 255), width=int(5 * s))
    return np.asarray(img).copy()


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


def serving_latency(requests: int) -> dict:
    """Through the running app's API (queue path), one client on 127.0.0.1: `python -m demo.loadtest`."""
    out = subprocess.run([sys.executable, "-m", "demo.loadtest", "--clients", "1", "--requests", str(requests),
                          "--no-train"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return {"error": (out.stderr or out.stdout).strip().splitlines()[-1:]}
    res = json.loads(out.stdout)
    return {"queue_path": {"p50_ms": res["p50_ms"], "p99_ms": res["p99_ms"]}, "app_peak_rss_mb": res["app_peak_rss_mb"]}


def run_bench(args) -> int:
    """Run every measurement, print a table (or JSON) of figures and ratios."""
    device = pick_device(args.device)
    data = load_fashion_mnist(args.data_dir, download_missing=args.download)
    steps = 40 if args.quick else 300
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
    if not args.quick:
        result["epoch_s_by_train_size"] = epoch_seconds_by_size(data, [10000, 30000, 60000], str(device))
    latency = predict_latency(50 if args.quick else 300)
    result["predict"] = latency
    result["predict_p50_ms"] = latency["drawing_800"]["p50_ms"]
    result["predict_p99_ms"] = latency["drawing_800"]["p99_ms"]
    if not args.quick:
        result["serving"] = serving_latency(100)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"device: {result['device']}, torch {result['torch']}, {steps} timed steps per figure")
    print("\ntraining throughput (LeNet, Adam)")
    print("| batch | baseline img/s | ours img/s | speedup | baseline s/epoch | ours s/epoch | ours GFLOP/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for bs, t in sorted(train.items()):
        print(f"| {bs} | {t['baseline_images_per_s']:,} | {t['train_images_per_s']:,} | {t['speedup']}x | "
              f"{t['baseline_epoch_s']} | {t['train_epoch_s']} | {t['train_gflop_per_s']} |")
    if "train_step_ms" in result:
        b = result["train_step_ms"]
        print(f"\nwhere a batch-100 step goes (torch.profiler): {b['total']} ms = convolutions {b['convolutions']} + "
              f"pooling {b['pooling']} + optimizer {b['optimizer']} + rest {b['rest']} ms")
    if "epoch_s_by_train_size" in result:
        print("\nepoch time (training steps only) by training-set size, batch 100")
        for n, s in result["epoch_s_by_train_size"].items():
            print(f"  {n:6d} images: {s} s")
    print("\nprediction latency in process (preprocessing + forward)")
    for name, p in latency.items():
        print(f"  {name}: p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms")
    if "queue_path" in result.get("serving", {}):
        s = result["serving"]
        print(f"\nserving through the app's API (queue path, client on 127.0.0.1): p50 {s['queue_path']['p50_ms']} ms, "
              f"p99 {s['queue_path']['p99_ms']} ms; app peak RSS {s['app_peak_rss_mb']} MB")
    return 0
