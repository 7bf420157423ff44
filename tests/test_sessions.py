"""Several students at once: separate runs and models, stop requests that reach only their own run,
no leaked threads, a full queue that answers instead of piling up, broken checkpoints skipped."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
import torch

from conftest import real_data, write_idx_dataset
from demo import models as demo_models
from demo.train_tab import request_stop, sweep_session, train_session
from fmnist.data import load_fashion_mnist


@pytest.fixture
def small_data(tmp_path, monkeypatch):
    from demo import train_tab

    data = load_fashion_mnist(write_idx_dataset(tmp_path / "d", n_train=2000, n_test=200))
    monkeypatch.setattr(train_tab, "dataset", lambda: data)
    return data


@pytest.mark.slow
def test_two_students_train_at_once_and_stop_only_their_own(small_data):
    threads_before = threading.active_count()
    alice = train_session(10, 5, 0.001, "lenet", 1, 2000, [], {}, "alice", ["default"])
    bob = train_session(10, 5, 0.001, "lenet", 2, 2000, [], {}, "bob", ["default"])
    for _ in range(4):  # interleave their steps, as two worker threads would
        next(alice)
        next(bob)
    assert request_stop(SimpleNamespace(session_hash="alice")).startswith("⏹")
    alice_updates = list(alice)
    assert alice_updates[-1]["status"].startswith("⏹ Stopped early")
    bob_final = list(bob)[-1]
    assert bob_final["status"].startswith("✅ Finished")
    (alice_name, (alice_model, _)), = alice_updates[-1]["models_state"].items()
    (bob_name, (bob_model, _)), = bob_final["models_state"].items()
    assert alice_name != bob_name or not torch.equal(alice_model.features[0].weight, bob_model.features[0].weight)
    assert len(alice_updates[-1]["runs_state"]) == 1 and len(bob_final["runs_state"]) == 1
    assert threading.active_count() <= threads_before
    assert request_stop(SimpleNamespace(session_hash="alice")) == "Nothing is training."


@pytest.mark.slow
def test_the_seed_experiment_trains_each_batch_size_in_turn(small_data):
    final = list(sweep_session(1, 0.001, "lenet", 0, 1000, [], {}, "erin", ["default"]))[-1]
    assert [r["batch_size"] for r in final["runs_state"]] == [32, 64, 100, 256]
    assert all(r["status"] == "finished" for r in final["runs_state"]) and final["results"].shape[0] == 4
    assert len(final["models_state"]) == 4 and final["model_picker"]["value"].startswith("#4 lenet bs256")
    for plot in ("loss_plot", "acc_plot"):  # all four runs on each curve, named in the legend
        ax = final[plot].axes[0]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [r["name"] for r in final["runs_state"]]
    assert request_stop(SimpleNamespace(session_hash="erin")) == "Nothing is training."


@pytest.mark.slow
def test_stop_while_the_last_run_of_the_seed_experiment_is_measured(small_data):
    updates = []
    for update in sweep_session(1, 0.001, "lenet", 0, 1000, [], {}, "hana", ["default"]):
        updates.append(update)
        if update.get("status", "").startswith("Measuring #4"):  # training done, the stop comes too late
            request_stop(SimpleNamespace(session_hash="hana"))
    assert updates[-1]["status"].startswith("✅ Finished: **#4 lenet bs256")


@pytest.mark.slow
def test_stop_between_two_runs_of_the_seed_experiment_ends_it(small_data):
    updates = []
    for update in sweep_session(1, 0.001, "lenet", 0, 1000, [], {}, "frank", ["default"]):
        updates.append(update)
        if len(update.get("runs_state", [])) == 1:  # the first run is over, the second not begun
            assert request_stop(SimpleNamespace(session_hash="frank")).startswith("⏹")
    assert [r["status"] for r in updates[-2]["runs_state"]] == ["finished"]  # no second run was begun
    assert updates[-1]["status"].startswith("⏹ The seed's experiment was stopped before batch size 64. ✅")
    assert request_stop(SimpleNamespace(session_hash="frank")) == "Nothing is training."


def test_a_refused_setting_ends_the_seed_experiment_at_once(small_data):
    updates = list(sweep_session(0, 0.001, "lenet", 0, 1000, [], {}, "gina", ["default"]))
    assert len(updates) == 1 and updates[0]["status"].startswith("❌")


@pytest.mark.slow
def test_closing_the_tab_stops_the_run(small_data):
    from demo.train_tab import stop_on_unload

    run = train_session(10, 5, 0.001, "lenet", 0, 2000, [], {}, "carol", ["default"])
    next(run)
    next(run)
    stop_on_unload(SimpleNamespace(session_hash="carol"))
    assert list(run)[-1]["status"].startswith("⏹ Stopped early")


@pytest.mark.slow
def test_diverging_run_reports_and_keeps_a_model(small_data):
    final = list(train_session(100, 3, 1.0, "lenet", 0, 2000, [], {}, "dave", ["default"]))[-1]
    assert final["status"].startswith(("✅", "⚠️"))  # lr 1.0 may or may not blow up; either way a model
    (model, meta), = final["models_state"].values()
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_broken_shipped_checkpoint_is_skipped(tmp_path, monkeypatch):
    import gradio as gr

    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    monkeypatch.setitem(demo_models.SHIPPED, "broken", str(broken))
    monkeypatch.setattr(demo_models, "CHECKPOINT_DIR", tmp_path, raising=False)
    demo_models.shipped_model.cache_clear()
    try:
        names = demo_models.shipped_names()
        assert "broken" not in names and names[0] == "default"
        with pytest.raises(gr.Error, match=r"Model 'broken' cannot be loaded \(.*\); pick one of: default, lenet\."):
            demo_models.get_model("broken", {})  # refused, not answered by another model
    finally:
        demo_models.shipped_model.cache_clear()


@pytest.mark.slow
@real_data
def test_full_queue_answers_instead_of_piling_up():
    from gradio_client import handle_file
    from gradio_client.utils import QueueError, Status

    from demo.loadtest import TRAIN_ARGS, connect, start_app
    from demo.predict_tab import EXAMPLES_DIR

    proc, url = start_app({"FMNIST_QUEUE_SIZE": "1"})
    try:
        results: dict[int, str] = {}

        def student(i: int) -> None:
            """Keep the session open (a closed one cancels the request) and note what happened."""
            job = connect(url).submit(*TRAIN_ARGS[:4], i, *TRAIN_ARGS[5:], api_name="/train")
            while time.time() < deadline:  # later, the queue moves on: not what this test looks at
                if job.done():
                    err = job.exception()
                    results[i] = f"refused: {type(err).__name__}: {err}" if err else "complete"
                    return
                if job.status().code in (Status.PROCESSING, Status.ITERATING):
                    results[i] = "running"
                time.sleep(0.1)
            job.cancel()  # the running one stops after its current step, the waiting one leaves the queue

        deadline = time.time() + 10
        threads = [threading.Thread(target=student, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
            time.sleep(0.5)
        for t in threads:
            t.join(60)
        assert list(results.values()).count("running") == 1, results  # one training at a time
        refused = [v for v in results.values() if v.startswith("refused")]
        assert refused and all(f"{QueueError.__name__}: Queue is full" in v for v in refused), results
        client, label, until = connect(url), None, time.time() + 30
        while label is None:  # the cancelled ones take a moment to leave the queue
            try:
                label = client.predict(handle_file(str(EXAMPLES_DIR / "test-0000-ankle-boot.png")), "default", False,
                                       api_name="/predict_upload")[0]
            except QueueError:
                if time.time() > until:
                    raise
                time.sleep(0.5)
        assert label["label"] == "Ankle boot"  # still healthy
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_a_run_longer_than_the_servers_limit_is_stopped_and_kept(small_data, monkeypatch):
    from demo import serving

    monkeypatch.setattr(serving, "MAX_TRAIN_MINUTES", 0.01)  # 0.6 s
    final = list(train_session(10, 50, 0.001, "lenet", 0, 2000, [], {}, "ivan", ["default"]))[-1]
    assert final["status"].startswith("⚠️ Stopped, time limit: this server stops a run after 0.01 minutes")
    assert final["runs_state"][0]["status"] == "time limit" and len(final["models_state"]) == 1
    assert final["runs_state"][0]["epochs_done"] < 50


@pytest.mark.parametrize("raw", ["ten", "0", "-3", "2.5", "inf", "nan"])
def test_a_bad_server_setting_names_itself(monkeypatch, raw):
    from demo.serving import env_number

    monkeypatch.setenv("FMNIST_QUEUE_SIZE", raw)
    with pytest.raises(ValueError, match=f"FMNIST_QUEUE_SIZE must be a whole number >= 1, got '{raw}'"):
        env_number("FMNIST_QUEUE_SIZE", 64, 1)


def test_server_settings_read_numbers_and_defaults(monkeypatch):
    from demo.serving import env_number

    monkeypatch.setenv("FMNIST_MAX_TRAIN_MINUTES", "2.5")
    assert env_number("FMNIST_MAX_TRAIN_MINUTES", 30.0, 0.01, whole=False) == 2.5
    monkeypatch.setenv("FMNIST_MAX_TRAIN_MINUTES", "nan")
    with pytest.raises(ValueError, match="must be a number >= 0.01"):
        env_number("FMNIST_MAX_TRAIN_MINUTES", 30.0, 0.01, whole=False)
    monkeypatch.delenv("FMNIST_QUEUE_SIZE", raising=False)
    assert env_number("FMNIST_QUEUE_SIZE", 64, 1) == 64


@pytest.mark.slow
def test_app_with_a_bad_setting_stops_with_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FMNIST_MAX_TRAIN_MINUTES": "soon"}
    res = subprocess.run([sys.executable, "app.py"], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    assert res.stderr.strip() == "error: FMNIST_MAX_TRAIN_MINUTES must be a number >= 0.01, got 'soon'"
