"""`python -m fmnist` end to end on a small synthetic dataset, in a subprocess like a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import synthetic_split, write_idx_dataset
from fmnist.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parent.parent


def fmnist(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-m", "fmnist", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp("cli")
    data = write_idx_dataset(work / "fm", n_train=1000, n_test=300)
    res = fmnist("train", "--subset", "500", "--epochs", "2", "--batch-size", "50", "--data-dir", str(data),
                 "--out", "run", "--seed", "3", cwd=work)
    assert res.returncode == 0, res.stderr
    return work, data, res


@pytest.mark.slow
def test_train_prints_seed_style_report_and_writes_files(trained):
    work, _, res = trained
    out = res.stdout
    assert out.startswith("device: cpu")
    assert "epoch   2  loss" in out and "test accuracy:" in out and "Shirt" in out
    samples = out.split("samples (ground truth -> predicted):")[1].split("wrote")[0]
    assert samples.count(" -> ") == 10  # ten ground-truth vs predicted samples
    run = work / "run"
    for name in ("results.txt", "metrics.json", "loss.png", "samples.png", "mistakes.png", "filters.png", "model.pt"):
        assert (run / name).stat().st_size > 0, name
    assert len(list((run / "samples").glob("*.png"))) == 10
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["config"]["batch_size"] == 50 and metrics["epochs_completed"] == 2
    assert 0.6 < metrics["accuracy"] <= 1.0 and len(metrics["per_class_accuracy"]) == 10


@pytest.mark.slow
def test_evaluate_json(trained):
    work, data, _ = trained
    res = fmnist("evaluate", "run/model.pt", "--json", "--data-dir", str(data), cwd=work)
    assert res.returncode == 0, res.stderr
    result = json.loads(res.stdout)
    assert set(result) == {"accuracy", "per_class_accuracy", "n"} and result["n"] == 300
    saved = json.loads((work / "run" / "metrics.json").read_text())
    assert result["accuracy"] == saved["accuracy"]


@pytest.mark.slow
def test_evaluate_photos(trained):
    """`evaluate --photos`: the test images photographed back under each condition (fmnist.photos), 30 a class."""
    from fmnist.photos import PHOTO_CONDITIONS

    work, data, _ = trained
    res = fmnist("evaluate", "run/model.pt", "--photos", "--json", "--data-dir", str(data), cwd=work)
    assert res.returncode == 0, res.stderr
    photos = json.loads(res.stdout)["photos"]
    assert photos["n"] == 300 and list(photos["conditions"]) == list(PHOTO_CONDITIONS)
    assert all(0 <= f["accuracy"] <= 1 and len(f["per_class_accuracy"]) == 10 for f in photos["conditions"].values())
    text = fmnist("evaluate", "run/model.pt", "--photos", "--data-dir", str(data), cwd=work).stdout
    assert "photos of 300 test images" in text and "  uneven light " in text


@pytest.mark.slow
def test_predict_answers_good_images_and_fails_bad_ones(trained):
    work, _, _ = trained
    images, labels = synthetic_split(20, 1)
    good = work / "good.png"
    Image.fromarray(images[0]).save(good)
    (work / "bad.png").write_text("not an image")
    res = fmnist("predict", "run/model.pt", "good.png", "bad.png", "missing.png", "--json", cwd=work)
    assert res.returncode == 1
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [line["file"] for line in lines] == ["good.png", "bad.png", "missing.png"]
    top = lines[0]["top"]
    assert len(top) == 3 and 1 >= top[0][1] >= top[1][1] >= top[2][1] >= 0
    assert "error" in lines[1] and "error" in lines[2]
    assert "Traceback" not in res.stderr


@pytest.mark.slow
def test_sweep_tables_each_batch_size_and_overlays_the_curves(trained):
    work, data, _ = trained
    res = fmnist("sweep", "--batch-sizes", "50", "100", "--epochs", "1", "--subset", "500", "--data-dir", str(data),
                 "--out", "sweep", "--quiet", cwd=work)
    assert res.returncode == 0, res.stderr
    rows = (work / "sweep" / "sweep.md").read_text().splitlines()
    assert rows[0].startswith("| batch size | test acc | T-shirt") and len(rows) == 4
    assert rows[2].startswith("| 50 | ") and rows[3].startswith("| 100 | ")
    assert (work / "sweep" / "loss_curves.png").stat().st_size > 10_000
    assert (work / "sweep" / "bs50" / "model.pt").exists() and (work / "sweep" / "bs100" / "metrics.json").exists()


@pytest.mark.slow
def test_bad_arguments_are_one_line_errors(tmp_path):
    res = fmnist("train", "--batch-size", "0", cwd=tmp_path)
    assert res.returncode == 2 and "batch_size must be between 1 and 60000" in res.stderr
    assert "Traceback" not in res.stderr
    res = fmnist("evaluate", "nope.pt", cwd=tmp_path)
    assert res.returncode == 2 and "no such file" in res.stderr
    for draws in ("0", "21"):
        res = fmnist("evaluate", "lenet", "--draws", draws, cwd=tmp_path)
        assert res.returncode == 2 and f"--draws: draws must be a whole number from 1 to 20, got {draws}" in res.stderr
        assert "Traceback" not in res.stderr


@pytest.mark.parametrize("args,said", [(["--model", "lenet", "--width", "32"], "lenet takes no options"),
                                       (["--model", "cnn", "--width", "0"], "width must be a whole number between 1"),
                                       (["--model", "cnn", "--stages", "4"], "stages must be 2 or 3, got 4"),
                                       (["--model", "lenet", "--stages", "3"], "lenet takes no options"),
                                       (["--shapes", "--drawings", "--garments", "0.3"],
                                        "cannot be combined with drawings, garments"),
                                       (["--shapes", "--record"], "never sees a photo")])
def test_an_impossible_option_is_refused_before_any_data_is_read(isolated, capsys, args, said):
    from fmnist.__main__ import main

    assert main(["train", "--data-dir", str(isolated / "none"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and said in err and "\n" not in err.strip()


def test_bf16_on_a_cpu_without_it_says_so_and_still_trains(tmp_path, monkeypatch, capsys):
    from fmnist.__main__ import main

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    data = write_idx_dataset(tmp_path / "fm", n_train=300, n_test=100)
    assert main(["train", "--data-dir", str(data), "--model", "cnn", "--width", "8", "--stages", "3", "--bf16",
                 "--epochs", "1", "--quiet", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "parameters, width 8, 3 stages, bfloat16)" in out and "emulates bfloat16" in out
    model, meta = load_checkpoint(tmp_path / "run" / "model.pt")
    assert meta["arch_options"] == {"width": 8, "stages": 3} and model.stages == 3


def test_bf16_slower_than_float32_on_this_cpu_says_so_and_still_trains(tmp_path, monkeypatch, capsys):
    import fmnist.bench
    from fmnist.__main__ import main

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)  # bfloat16 instructions, not faster
    monkeypatch.setattr(fmnist.bench, "bf16_step_ms", lambda *a: {"float32_ms": 240.0, "bfloat16_ms": 302.0})
    data = write_idx_dataset(tmp_path / "fm", n_train=300, n_test=100)
    assert main(["train", "--data-dir", str(data), "--model", "cnn", "--width", "8", "--bf16", "--epochs", "1",
                 "--quiet", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "302 ms in bfloat16 against 240 ms in float32" in out and "emulates" not in out
    assert (tmp_path / "run" / "model.pt").exists()


def test_a_shapes_run_says_what_it_trains_on_and_its_checkpoint_records_it(tmp_path, capsys):
    from fmnist.__main__ import main

    data = write_idx_dataset(tmp_path / "fm", n_train=300, n_test=100)
    assert main(["train", "--data-dir", str(data), "--model", "cnn", "--width", "8", "--shapes", "--epochs", "1",
                 "--quiet", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "shapes: every training image is its filled silhouette or its outline" in out
    _, meta = load_checkpoint(tmp_path / "run" / "model.pt")
    assert meta["train_config"]["shapes"] is True and meta["train_config"]["augment"] is False


def test_no_data_is_a_clear_message(isolated, capsys):
    from fmnist.__main__ import main

    assert main(["train", "--data-dir", str(isolated / "none"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Fashion-MNIST not found") and "apt-get install dataset-fashion-mnist" in err


def test_a_run_started_from_a_checkpoint_says_so_records_it_and_refuses_another_shape(tmp_path, capsys):
    from fmnist.__main__ import main

    data = write_idx_dataset(tmp_path / "fm", n_train=300, n_test=100)
    common = ["train", "--data-dir", str(data), "--epochs", "1", "--quiet", "--subset", "100"]
    assert main([*common, "--model", "cnn", "--width", "8", "--out", str(tmp_path / "a")]) == 0
    first = str(tmp_path / "a" / "model.pt")
    assert main([*common, "--model", "cnn", "--width", "8", "--init", first, "--pen-shapes", "0.3",
                 "--pen-variants", "4", "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert f"init: starting from the weights of {first}" in out and "pen shapes: drawing each" in out
    assert "silhouette 4 times" in out
    _, meta = load_checkpoint(tmp_path / "b" / "model.pt")
    assert meta["train_config"]["init"] == first and meta["train_config"]["pen_shapes"] == 0.3
    assert meta["train_config"]["pen_variants"] == 4 and meta["train_config"]["garments_per_class"] == 6000
    import hashlib
    before = meta["started_from"]  # the recipe of what it started from travels with it
    assert before["file"] == first and before["sha256"] == hashlib.sha256(Path(first).read_bytes()).hexdigest()
    assert before["epochs_completed"] == 1 and before["train_config"]["width"] == 8 and "started_from" not in before
    assert main([*common, "--model", "cnn", "--width", "16", "--init", first, "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --init ") and "is a cnn (width 8), but this run trains a cnn (width 16)" in err
    assert "\n" not in err.strip() and not (tmp_path / "c").exists()


@pytest.mark.slow  # four runs, each scored on the sketch set: about 25 s
def test_a_run_killed_with_sigterm_goes_on_with_resume_to_the_same_model(tmp_path):
    import os
    import signal

    data = write_idx_dataset(tmp_path / "fm", n_train=600, n_test=100)
    flags = ["--subset", "500", "--epochs", "30", "--batch-size", "50", "--data-dir", str(data), "--seed", "2",
             "--cosine", "--augment", "--quiet"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "fmnist", "train", *flags, "--out", "run"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:  # kill it as a host shutting down would, a few epochs in
        lines.append(line)
        if line.startswith("epoch   3/30"):
            proc.send_signal(signal.SIGTERM)
            break
    out = "".join(lines) + proc.stdout.read()
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    run = tmp_path / "run"
    assert "progress: saved to run/resume.pt after every epoch" in out
    assert "stopped early: terminated (SIGTERM)" in out and "go on with `python -m fmnist train --resume run`" in out
    assert (run / "resume.pt").is_file() and (run / "model.pt").is_file()  # the model as it was, and the progress
    stopped_at = torch.load(run / "resume.pt", weights_only=True)["epoch"]
    assert 2 <= stopped_at < 30  # epoch 3 printed, perhaps not yet saved

    again = fmnist("train", "--resume", "run", "--data-dir", str(data), "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"resume: going on after epoch {stopped_at} of 30" in again.stdout and "stopped early" not in again.stdout
    assert not (run / "resume.pt").exists()  # finished: model.pt is the result
    straight = fmnist("train", *flags, "--out", "straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    resumed_model, resumed = load_checkpoint(run / "model.pt")
    straight_model, whole = load_checkpoint(tmp_path / "straight" / "model.pt")
    assert all(torch.equal(a, b) for a, b in zip(resumed_model.state_dict().values(),
                                                  straight_model.state_dict().values()))
    assert resumed["metrics"]["accuracy"] == whole["metrics"]["accuracy"]
    assert resumed["metrics"]["epochs_completed"] == 30
    first, second = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("run", "straight"))
    assert first["stopped_early"] is None
    assert first["epoch_loss"] == second["epoch_loss"] and first["epoch_test_acc"] == second["epoch_test_acc"]
    assert len(first["epoch_loss"]) == 30 and first["train_seconds"] > 0


def test_resume_refuses_other_options_a_folder_without_a_run_and_overwriting_one(tmp_path, capsys, monkeypatch):
    from fmnist import checkpoint
    from fmnist.__main__ import main

    data = write_idx_dataset(tmp_path / "fm", n_train=300, n_test=100)
    common = ["--data-dir", str(data), "--quiet"]
    saves = []

    def full_disk(state, folder):  # the first save fails as on a full disk; the run goes on and can be resumed later
        saves.append(state["epoch"])
        if len(saves) == 1:
            raise checkpoint.CheckpointError(f"{folder}/resume.pt: could not save the run's progress (No space left)")
        return real(state, folder)

    real = checkpoint.save_resume_state
    monkeypatch.setattr("fmnist.__main__.save_resume_state", full_disk)
    assert main(["train", *common, "--epochs", "3", "--subset", "100", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert out.count("No space left") == 1 and "training goes on without it" in out and saves == [1, 2]
    assert not (tmp_path / "a" / "resume.pt").exists()  # finished

    (tmp_path / "b").mkdir()
    real({"epoch": 1}, tmp_path / "b")
    assert main(["train", *common, "--out", str(tmp_path / "b")]) == 2
    assert "holds an unfinished run: go on with `python -m fmnist train --resume" in capsys.readouterr().err
    assert main(["train", *common, "--resume", str(tmp_path / "b"), "--lr", "0.01", "--epochs", "5"]) == 2
    assert capsys.readouterr().err.strip() == ("error: --resume goes on with the options the run was started with; "
                                               "leave out --epochs, --lr")
    assert main(["train", *common, "--resume", str(tmp_path / "b")]) == 2
    assert "not a saved training run" in capsys.readouterr().err
    assert main(["train", *common, "--resume", str(tmp_path / "a")]) == 2
    assert "no unfinished run there" in capsys.readouterr().err
    (tmp_path / "b" / "resume.pt").write_bytes(b"PK\x03\x04 cut short")
    assert main(["train", *common, "--resume", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "not a readable saved run (the file is cut short or damaged" in err and err.count("\n") == 1


def test_a_run_killed_while_it_is_scored_still_goes_on_from_its_last_epoch(tmp_path, monkeypatch):
    from fmnist.__main__ import main

    def killed(*args, **kwargs):  # the host stops the run after its last epoch, while it is scored on the sketch set
        raise KeyboardInterrupt

    data = write_idx_dataset(tmp_path / "fm", n_train=300, n_test=100)
    monkeypatch.setattr("fmnist.__main__.report_run", killed)
    with pytest.raises(KeyboardInterrupt):
        main(["train", "--data-dir", str(data), "--quiet", "--epochs", "3", "--subset", "100", "--out",
              str(tmp_path / "a")])
    assert torch.load(tmp_path / "a" / "resume.pt", weights_only=True)["epoch"] == 2


def test_resuming_on_other_data_is_refused_in_words_before_any_training(tmp_path, monkeypatch, capsys):
    import gzip

    from conftest import IDX_FILES
    from fmnist import augment
    from fmnist.__main__ import main
    from fmnist.data import encode_idx, load_fashion_mnist

    data = write_idx_dataset(tmp_path / "fm", n_train=300, n_test=100)
    run = ["train", "--quiet", "--epochs", "3", "--subset", "100", "--drawings", "--out", str(tmp_path / "a")]

    def killed(*args, **kwargs):  # stopped after its last epoch, while it is scored: resume.pt holds epoch 2
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr("fmnist.__main__.report_run", killed)
        with pytest.raises(KeyboardInterrupt):
            main([*run, "--data-dir", str(data)])
    capsys.readouterr()
    other = tmp_path / "other"
    other.mkdir()
    real = load_fashion_mnist(data)
    arrays = {"train_images": real.train_images.flip(-1).numpy(), "train_labels": real.train_labels.numpy(),
              "test_images": real.test_images.numpy(), "test_labels": real.test_labels.numpy()}
    for key, stem in IDX_FILES.items():  # as many images, mirrored: other images
        (other / (stem + ".gz")).write_bytes(gzip.compress(encode_idx(arrays[key])))
    banks = []
    monkeypatch.setattr(augment, "hand_drawn_bank", lambda *a, **k: banks.append(1))  # minutes on the real data
    assert main(["train", "--quiet", "--resume", str(tmp_path / "a"), "--data-dir", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"error: --resume {tmp_path / 'a'}: that saved run trained on other images than these "
                           f"(another --data-dir?)")
    assert banks == [] and (tmp_path / "a" / "resume.pt").is_file()  # refused before the drawings; nothing lost


def test_the_garments_banks_options_reach_the_run_as_typed(tmp_path, monkeypatch):
    """--colour-strokes, --patterns, --rub-details and --extra-styles each reach the run's TrainConfig (a flag the
    parser took and the config dropped would train the bank as before without a word), and a wrong one is refused."""
    import fmnist.__main__ as cli

    data = write_idx_dataset(tmp_path / "fm", n_train=100, n_test=20)
    got = []
    monkeypatch.setattr(cli, "run_training", lambda config, *args, **kwargs: got.append(config) or {})
    assert cli.main(["train", "--data-dir", str(data), "--garments", "0.3", "--colour-strokes", "0.1", "--patterns",
                     "0.2", "--rub-details", "0.4", "--extra-styles", "0.3", "--out", str(tmp_path / "r")]) == 0
    assert [(c.colour_strokes, c.patterns, c.rub_details, c.extra_styles) for c in got] == [(0.1, 0.2, 0.4, 0.3)]
    assert cli.main(["train", "--data-dir", str(data), "--extra-styles", "0.3"]) == 2
    assert cli.main(["train", "--data-dir", str(data), "--garments", "0.3", "--extra-styles", "1.5"]) == 2
    assert len(got) == 1
