"""How long a training run will take, from its settings: measured step and evaluation times per model
and device kind (the README's benchmark figures), refined by the runs this process has timed itself."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from fmnist.train import MAX_TRAIN_IMAGES, TrainConfig


@dataclass(frozen=True)
class StepCost:
    """What one optimizer step and one test-set pass cost for a model on a kind of device."""

    step_ms: float  # a step's fixed cost: kernel launches, Python, the optimizer (ms)
    image_ms: float  # plus this much per image in the batch (ms)
    augment_image_ms: float  # extra per image with sketch-style augmentation (ms)
    eval_s: float  # the test-set pass after every epoch (s)
    start_s: float  # moving the data and the model to the device, first kernels (s)
    finish_s: float = 0.0  # measuring the trained model after the run, on the CPU: test set, drawings, scribbles (s)


# Measured with `python -m fmnist bench` and whole `train` runs (README, *Performance*). CPU: the 2-core
# CI machine (lenet 6.05 / 10.0 / 22.0 ms a step at batch 32 / 100 / 256; the augmented cnn recipe
# 58 s an epoch at batch 128). cuda: one H200, where LeNet is launch-bound (the seed recipe's 15,000
# steps in 35.4 s, batch 32's 46,875 steps in 116.4 s: ~2.4 ms a step whatever the batch up to 256;
# the augmented cnn recipe's 9,380 steps in 45.1 s). finish_s: the Train tab's measuring after a run (report_run),
# whole run minus training in the app's own train_session, Intel Xeon with AMX, 2 cores, 2026-12-04: lenet 0.3 s,
# the Train tab's cnn 8.1 s; it runs on the CPU whatever trained the model, so only the "cpu" rows carry it.
MEASURED: dict[tuple[str, str], StepCost] = {
    ("lenet", "cpu"): StepCost(step_ms=3.8, image_ms=0.071, augment_image_ms=0.05, eval_s=0.2, start_s=0.5,
                               finish_s=0.3),
    ("cnn", "cpu"): StepCost(step_ms=8.0, image_ms=0.72, augment_image_ms=0.12, eval_s=3.9, start_s=0.5, finish_s=8.0),
    ("lenet", "cuda"): StepCost(step_ms=2.4, image_ms=0.0008, augment_image_ms=0.0005, eval_s=0.05, start_s=4.0),
    ("cnn", "cuda"): StepCost(step_ms=4.4, image_ms=0.003, augment_image_ms=0.001, eval_s=0.1, start_s=4.0),
}
MARGIN = 1.2  # requested GPU time = estimate x MARGIN (+ the start), so a slower GPU still finishes

_observed: dict[tuple[str, bool, str], float] = {}  # measured / predicted step time, by model, augment, device
_observed_lock = threading.Lock()


def _cost(model: str, device: str) -> StepCost:
    kind = "cuda" if device.startswith("cuda") else "cpu"
    return MEASURED.get((model, kind), MEASURED[("cnn", kind)])


def step_seconds(config: TrainConfig, device: str) -> float:
    """Predicted seconds for one optimizer step of this run's batch on `device` ("cpu", "cuda", ...),
    from MEASURED, scaled by what this process has observed for the same model on the same device."""
    cost, batch = _cost(config.model, device), min(config.batch_size, training_images(config))
    per_image = cost.image_ms + (cost.augment_image_ms if config.augment else 0.0)
    with _observed_lock:
        ratio = _observed.get((config.model, config.augment, device.split(":")[0]), 1.0)
    return (cost.step_ms + per_image * batch) / 1000 * ratio


def training_images(config: TrainConfig) -> int:
    """How many images one epoch of this run trains on."""
    return config.subset or MAX_TRAIN_IMAGES


def estimate_seconds(config: TrainConfig, device: str) -> float:
    """Predicted wall time of a whole run on `device`: the start, every step, a test pass per epoch."""
    cost = _cost(config.model, device)
    n = training_images(config)
    steps = math.ceil(n / min(config.batch_size, n)) * config.epochs
    return cost.start_s + steps * step_seconds(config, device) + config.epochs * cost.eval_s


def wait_seconds(config: TrainConfig, device: str) -> float:
    """What a student waits from Start to the results: the training on `device` (estimate_seconds), then the
    measuring of the trained model, which is on the CPU (outside a ZeroGPU slot and outside the training queue)."""
    return estimate_seconds(config, device) + _cost(config.model, "cpu").finish_s


def gpu_request_seconds(config: TrainConfig, cap: float) -> int:
    """The GPU time to ask ZeroGPU for: the estimate on cuda with a margin, in whole seconds, at most cap."""
    return int(min(cap, math.ceil(estimate_seconds(config, "cuda") * MARGIN)))


def observe(config: TrainConfig, device: str, seconds_per_step: float) -> None:
    """Remember how fast a run of this model really stepped here, so later estimates follow this machine
    (an exponential mean of measured / predicted, so one busy moment does not decide it)."""
    key = (config.model, config.augment, device.split(":")[0])
    with _observed_lock:
        old = _observed.get(key, 1.0)
    predicted = step_seconds(config, device) / old
    if predicted <= 0 or not math.isfinite(seconds_per_step) or seconds_per_step <= 0:
        return
    ratio = seconds_per_step / predicted
    with _observed_lock:
        _observed[key] = ratio if key not in _observed else 0.5 * old + 0.5 * ratio


def forget_observations() -> None:
    """Back to the measured table alone (tests)."""
    with _observed_lock:
        _observed.clear()
