"""What trains: `train_stream`, the one function that runs on the GPU (wrapped in `spaces.GPU` on a
ZeroGPU Space, which forks a worker process for it) and, unchanged, in this process everywhere else.
Its contract: small picklable values in (a TrainRequest), picklable values out (what it yields), no
shared objects changed in place. The Train tab turns what it yields into plots and session state."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from demo import serving
from demo.stopping import StopToken
from fmnist.data import MEAN, STD, FashionMNIST, load_fashion_mnist, to_float
from fmnist.estimate import gpu_request_seconds
from fmnist.evaluate import predict_labels
from fmnist.models import first_filters
from fmnist.train import (EpochRecord, StepRecord, TrainConfig, TrainingDiverged, describe_device, prepare_run,
                          sample_indices, train_epochs)

_IMPORTED_IN = os.getpid()  # a different pid in train_stream: ZeroGPU's forked worker
# How a run ended (the Train tab's table and the class board use these words).
FINISHED, STOPPED, TIME_LIMIT, DIVERGED = "finished", "stopped", "time limit", "diverged"


@lru_cache(maxsize=1)
def dataset() -> FashionMNIST:
    """The dataset, read once per process (read-only, shared by all sessions; a ZeroGPU worker forked
    after the first read inherits it). FMNIST_DOWNLOAD=1 lets a server with internet fetch it."""
    return load_fashion_mnist(download_missing=os.environ.get("FMNIST_DOWNLOAD") == "1")


@dataclass(frozen=True)
class TrainRequest:
    """Everything train_stream needs, all picklable."""

    config: TrainConfig
    stop: StopToken  # set by Stop or by closing the tab; checked after every progress record
    time_limit_s: float  # the run stops itself after this long and keeps its model


@dataclass(frozen=True)
class Started:
    """The run has its device and its freshly initialised model."""

    device: str  # fmnist.train.describe_device
    filters: np.ndarray  # the first layer's kernels (filters, h, w), random at this point
    sample_indices: list[int]  # the test images every epoch's record.sample_preds are for (fmnist.train.sample_indices)
    sample_preds: list[int]  # the untrained model's guesses for them


@dataclass(frozen=True)
class Progress:
    """A training record; after an epoch also the first layer's kernels."""

    record: StepRecord | EpochRecord
    filters: np.ndarray | None = None


@dataclass(frozen=True)
class Trained:
    """The end of a run, however it ended: the weights and how it got there."""

    ending: str  # FINISHED, STOPPED, TIME_LIMIT or DIVERGED
    detail: str  # why it ended early, in words ("" when finished)
    state_dict: dict  # CPU tensors, loadable into fmnist.models.build_model(config.model, **config.model_options())
    history: list  # the EpochRecords
    seconds: float  # training time
    seconds_per_step: float  # the steps' own time (not the test passes, nor the app drawing its figures meanwhile),
    # for fmnist.estimate.observe
    device: str


def gpu_seconds(request: TrainRequest) -> int:
    """spaces.GPU's duration for this call: the run's estimated GPU time, at most FMNIST_MAX_GPU_SECONDS."""
    return gpu_request_seconds(request.config, serving.MAX_GPU_SECONDS)


def train_stream(request: TrainRequest):
    """Train as the request says, yielding Started, Progress records and at last Trained."""
    cfg = request.config
    if os.getpid() != _IMPORTED_IN:
        # A forked child cannot use the OpenMP thread pool the parent started (its first parallel CPU op
        # hangs), so CPU work here runs on one thread, as in PyTorch's own DataLoader workers.
        torch.set_num_threads(1)
    data = dataset()
    run = prepare_run(cfg)
    device = describe_device(run.device)
    ids = sample_indices(cfg, len(data.test_labels))
    guesses = predict_labels(run.model, to_float(data.test_images[ids], MEAN, STD).to(run.device))
    yield Started(device, first_filters(run.model), ids, guesses.tolist())
    ending, detail = FINISHED, ""
    start, last, steps_s = time.monotonic(), None, 0.0
    try:
        for rec in train_epochs(run, data):
            last = rec
            if isinstance(rec, StepRecord):
                steps_s += rec.steps_s
            if isinstance(rec, EpochRecord):
                yield Progress(rec, first_filters(run.model))
            else:
                yield Progress(rec)
            if request.stop.is_set():
                ending, detail = STOPPED, "stopped by the student"
                break
            if time.monotonic() - start > request.time_limit_s:
                ending = TIME_LIMIT
                detail = f"this server stops a run after {request.time_limit_s:g} s; the model so far is kept"
                break
    except TrainingDiverged as err:
        ending, detail = DIVERGED, str(err)
    seconds = time.monotonic() - start
    steps = last.step if last is not None else 0
    state = {k: v.detach().to("cpu", memory_format=torch.contiguous_format).clone()
             for k, v in run.model.state_dict().items()}
    yield Trained(ending, detail, state, list(run.history), seconds, steps_s / steps if steps else float("nan"),
                  device)


# On a ZeroGPU Space the call is run by spaces.GPU in a forked worker with the GPU; elsewhere it is
# train_stream itself. Decorated at import, as ZeroGPU requires.
train_on_gpu = serving.gpu(duration=gpu_seconds)(train_stream)
