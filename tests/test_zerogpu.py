"""Training as a Hugging Face ZeroGPU Space runs it: the GPU function in a forked worker, its arguments
and every yielded value pickled across (tests/zerogpu.py emulates spaces.GPU), the GPU time asked per run
from its settings, Stop and a closed tab reaching the worker. All on the CPU, offline."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import write_idx_dataset
from demo import serving, stopping, train_tab, training
from demo.predict_tab import predict_drawing
from demo.sketch_canvas import pad_value
from demo.train_tab import Session, settings_problems, train_session
from fmnist import estimate
from fmnist.data import load_fashion_mnist
from fmnist.train import TrainConfig
from zerogpu import EmulatedSpaces


@pytest.fixture
def zerogpu(tmp_path, monkeypatch):
    """A ZeroGPU Space: SPACES_ZERO_GPU set, `spaces` the emulation, demo.training imported afresh so its
    module-level spaces.GPU decoration is the one under test; small synthetic data."""
    fake = EmulatedSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    importlib.reload(training)
    data = load_fashion_mnist(write_idx_dataset(tmp_path / "d", n_train=2000, n_test=200))
    monkeypatch.setattr(training, "dataset", lambda: data)
    yield fake
    monkeypatch.undo()
    importlib.reload(training)


def config(**changes) -> TrainConfig:
    return replace(TrainConfig(batch_size=50, epochs=2, subset=2000, log_every=10), **changes)


def run(cfg: TrainConfig, session: str, stop_after: int | None = None):
    """train_session to its end -> (updates, outcome); with stop_after, Stop is pressed after that many updates."""
    token, updates = stopping.new_token(session), []
    gen = train_session(cfg, Session(session), token)
    try:
        while True:
            updates.append(next(gen))
            if stop_after is not None and len(updates) == stop_after:
                stopping.request_stop(session)
                stopped_at = time.monotonic()
    except StopIteration as end:
        outcome = end.value
    finally:
        stopping.release(session, token)
    if stop_after is not None:
        return updates, outcome, time.monotonic() - stopped_at
    return updates, outcome


@pytest.mark.slow
def test_a_run_trains_in_the_worker_and_its_model_predicts_here(zerogpu):
    cfg = config()
    updates, outcome = run(cfg, "zg-alice")
    assert updates[-1]["status"].startswith("✅ Finished: **#1 lenet bs50")
    assert zerogpu.requested == [estimate.gpu_request_seconds(cfg, serving.MAX_GPU_SECONDS)]
    (worker,) = zerogpu.workers
    worker.join(10)
    assert worker.exitcode == 0  # the run happened in the forked worker, which ended by itself
    (name, (model, meta)), = outcome.session.models.items()  # the weights came back through what it yielded
    assert meta["metrics"]["epochs_completed"] == 2 and meta["train_config"]["batch_size"] == 50
    layer = np.zeros((448, 448, 4), np.uint8)
    layer[40:400, 150:300, 3] = 255
    status = predict_drawing(pad_value(layer), name, outcome.session.models, False)[-1]
    assert "your drawing" in status  # the session's model answers a drawing in this process
    assert any("loss_plot" in u for u in updates) and any("samples" in u for u in updates)


@pytest.mark.slow
def test_stop_reaches_the_worker_and_keeps_the_model(zerogpu):
    updates, outcome, after_stop = run(config(epochs=30), "zg-bob", stop_after=3)
    assert updates[-1]["status"].startswith("⏹ Stopped early")
    assert outcome.ending == "stopped" and outcome.session.runs[0].epochs_done < 30
    assert len(outcome.session.models) == 1
    assert after_stop < 20  # a step or two and the measuring, not the 30 epochs
    zerogpu.workers[0].join(10)
    assert zerogpu.workers[0].exitcode == 0


@pytest.mark.slow
def test_closing_the_stream_ends_the_worker(zerogpu):
    token = stopping.new_token("zg-carol")
    gen = train_session(config(epochs=200), Session("zg-carol"), token)
    while "Epoch" not in next(gen).get("status", ""):
        pass  # training in the worker
    gen.close()  # what Gradio does when the student closes the tab mid-run
    (worker,) = zerogpu.workers
    worker.join(20)
    assert not worker.is_alive() and worker.exitcode == 0
    stopping.release("zg-carol", token)


def test_the_gpu_time_asked_grows_with_epochs_and_images_and_respects_the_cap(monkeypatch):
    small = TrainConfig(epochs=1, subset=10000)
    asked = [estimate.gpu_request_seconds(replace(small, **c), cap=1000)
             for c in ({}, {"epochs": 10}, {"epochs": 10, "subset": None}, {"epochs": 30, "subset": None})]
    assert asked == sorted(asked) and len(set(asked)) == 4, asked
    assert estimate.gpu_request_seconds(TrainConfig(epochs=1000), cap=120) == 120


def test_estimates_for_the_seed_recipe_and_the_defaults_match_the_measured_h200():
    seed_recipe = TrainConfig(model="lenet", batch_size=100, epochs=25)  # 35.4 s of training on the H200
    defaults = TrainConfig(model="lenet", batch_size=100, epochs=3)  # the Train tab's start settings
    asked = estimate.gpu_request_seconds(seed_recipe, serving.MAX_GPU_SECONDS)
    assert 35.4 < estimate.estimate_seconds(seed_recipe, "cuda") < 35.4 * 1.3
    assert asked <= 120 and asked <= serving.MAX_GPU_SECONDS
    assert estimate.gpu_request_seconds(defaults, serving.MAX_GPU_SECONDS) <= 15
    cnn_recipe = TrainConfig(model="cnn", batch_size=128, epochs=20, augment=True, lr=0.002)  # 45.1 s measured
    assert 45.1 < estimate.estimate_seconds(cnn_recipe, "cuda") < 45.1 * 1.3


def test_a_run_over_the_cap_is_refused_saying_what_to_lower(zerogpu):
    cfg, _ = settings_problems({"batch_size": 32, "epochs": 25, "lr": 0.001, "model": "lenet", "seed": 0,
                                "images": 60000, "augment": False})
    assert train_tab.cost_text(cfg).startswith("⚠️ This run would need about 1")
    updates, outcome = run(cfg, "zg-dan")
    assert len(updates) == 1 and outcome.ending is None and zerogpu.requested == []
    assert "this Space allows 120 s a run (FMNIST_MAX_GPU_SECONDS). Lower the epochs to 2" in updates[0]["status"]
    cfg20 = replace(cfg, epochs=int(updates[0]["status"].split("epochs to ")[1].split()[0]))
    assert train_tab.too_long(cfg20) == ""  # the suggested epochs fit


def test_on_zerogpu_trainings_do_not_wait_for_each_other(monkeypatch):
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.delenv("FMNIST_MAX_TRAININGS", raising=False)
    try:
        assert importlib.reload(serving).MAX_TRAININGS == 8
        monkeypatch.delenv("SPACES_ZERO_GPU")
        assert importlib.reload(serving).MAX_TRAININGS == 1  # a CPU server keeps a core for predictions
    finally:
        monkeypatch.undo()
        importlib.reload(serving)


def test_what_a_run_s_first_optimizer_imports_is_imported_when_the_app_starts():
    """A process's first Adam() imports torch._dynamo (1.7 s on a 2-core host). The app imports it at start, so
    a ZeroGPU worker forked from it (a fresh one for each run) does not spend the student's GPU time on it."""
    code = ("import sys; from demo.serving import configure_torch; configure_torch(); "
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "True", out.stderr
