"""The checkpoint format: round trip, atomic writes, and every kind of bad file refused in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from fmnist.checkpoint import (FORMAT_VERSION, CheckpointError, clean_stale_temp_files, load_checkpoint,
                               make_checkpoint, resolve_checkpoint, save_checkpoint)
from fmnist.data import CLASS_NAMES
from fmnist.models import build_model
from fmnist.train import TrainConfig

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def saved(tmp_path):
    model = build_model("lenet", seed=1)
    ckpt = make_checkpoint(model, "lenet", TrainConfig(epochs=2), metrics={"accuracy": 0.5})
    return model, ckpt, save_checkpoint(ckpt, tmp_path / "m.pt")


def test_round_trip_keeps_weights_and_metadata(saved):
    model, _, path = saved
    loaded, meta = load_checkpoint(path)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    assert meta["arch"] == "lenet" and meta["format_version"] == FORMAT_VERSION
    assert meta["train_config"]["epochs"] == 2 and meta["metrics"]["accuracy"] == 0.5
    assert meta["normalization"] == {"mean": 0.2860, "std": 0.3530}
    assert "state_dict" not in meta and not loaded.training


def test_channels_last_weights_are_saved_plainly(tmp_path):
    model = build_model("lenet", seed=1).to(memory_format=torch.channels_last)
    path = save_checkpoint(make_checkpoint(model, "lenet"), tmp_path / "cl.pt")
    assert all(v.is_contiguous() for v in torch.load(path, weights_only=True)["state_dict"].values())
    assert load_checkpoint(path)[0].features[0].weight.is_contiguous(memory_format=torch.channels_last)


class Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_pickle_that_runs_code_is_refused_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # an override must not turn safety off
    torch.save({"format_version": 1, "state_dict": {}, "payload": Boom()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="evil.pt: not a readable checkpoint .it holds Python objects"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("case", ["empty", "random", "truncated", "whole_model", "wrong_keys", "wrong_shapes",
                                  "nan", "inf", "future", "not_dict", "unknown_arch", "bare_state_dict",
                                  "bad_options", "options_not_dict"])
def test_bad_checkpoints_are_refused_with_one_line(saved, tmp_path, case):
    model, ckpt, path = saved
    bad = tmp_path / f"{case}.pt"
    if case == "empty":
        bad.write_bytes(b"")
    elif case == "random":
        bad.write_bytes(os.urandom(4096))
    elif case == "truncated":
        bad.write_bytes(path.read_bytes()[:3000])
    elif case == "whole_model":
        torch.save(model, bad)
    elif case == "wrong_keys":
        torch.save({**ckpt, "state_dict": {"w": torch.zeros(3)}}, bad)
    elif case == "wrong_shapes":
        state = dict(ckpt["state_dict"], **{"classifier.5.weight": torch.zeros(5, 84)})
        torch.save({**ckpt, "state_dict": state}, bad)
    elif case == "nan":
        state = dict(ckpt["state_dict"], **{"classifier.5.bias": torch.full((10,), float("nan"))})
        torch.save({**ckpt, "state_dict": state}, bad)
    elif case == "inf":
        state = dict(ckpt["state_dict"], **{"features.0.weight": torch.full((6, 1, 5, 5), float("inf"))})
        torch.save({**ckpt, "state_dict": state}, bad)
    elif case == "future":
        torch.save({**ckpt, "format_version": FORMAT_VERSION + 1}, bad)
    elif case == "not_dict":
        torch.save([1, 2, 3], bad)
    elif case == "unknown_arch":
        torch.save({**ckpt, "arch": "vgg"}, bad)
    elif case == "bare_state_dict":  # what `torch.save(model.state_dict(), ...)` in a notebook writes
        torch.save(model.state_dict(), bad)
    elif case == "bad_options":
        torch.save({**ckpt, "arch_options": {"width": 8}}, bad)
    elif case == "options_not_dict":
        torch.save({**ckpt, "arch_options": [8]}, bad)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(bad)
    msg = str(err.value)
    assert "\n" not in msg and str(bad) in msg and len(msg) < 600
    if case == "bare_state_dict":
        assert "bare state_dict" in msg and "make_checkpoint" in msg
    if case in ("bad_options", "options_not_dict"):
        assert "arch_options do not fit lenet" in msg
    said = {"empty": "the file is empty", "random": "not a PyTorch file", "truncated": "cut short or damaged",
            "whole_model": "holds Python objects"}  # in words, never PyTorch's "please file an issue"
    if case in said:
        assert said[case] in msg and "file an issue" not in msg and "miniz" not in msg


def test_failed_save_keeps_previous_checkpoint(saved, monkeypatch):
    _, ckpt, path = saved
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # killed in the middle of writing

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(ckpt, path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]


def test_disk_full_is_a_clear_error(saved, monkeypatch):
    _, ckpt, path = saved

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(CheckpointError, match="No space left on device"):
        save_checkpoint(ckpt, path)


def test_stale_temp_files_are_cleaned(tmp_path):
    (tmp_path / ".tmp-ckpt-abc.pt").write_bytes(b"half")
    (tmp_path / "keep.pt").write_bytes(b"x")
    assert [p.name for p in clean_stale_temp_files(tmp_path)] == [".tmp-ckpt-abc.pt"]
    assert [p.name for p in tmp_path.iterdir()] == ["keep.pt"]


def test_shipped_names_resolve_and_unknown_is_clear(tmp_path):
    assert resolve_checkpoint("lenet").name == "lenet.pt"
    assert resolve_checkpoint("default").exists()
    with pytest.raises(CheckpointError, match="no such file.*lenet, cnn, default"):
        resolve_checkpoint(tmp_path / "nope.pt")


def test_checkpoint_in_pytorchs_legacy_format_still_loads(saved, tmp_path):
    model, ckpt, _ = saved
    old = tmp_path / "legacy.pt"
    torch.save(ckpt, old, _use_new_zipfile_serialization=False)  # what torch < 1.6 wrote
    loaded, meta = load_checkpoint(old)
    assert meta["arch"] == ckpt["arch"]
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


@pytest.mark.parametrize("options", [{"width": 32}, {"width": 16, "stages": 3}])
def test_a_wide_or_deep_cnn_keeps_its_shape_and_loads_as_it_was(tmp_path, options):
    model = build_model("cnn", seed=2, **options).eval()
    path = save_checkpoint(make_checkpoint(model, "cnn", TrainConfig(model="cnn", **options)), tmp_path / "w.pt")
    loaded, meta = load_checkpoint(path)
    assert meta["arch_options"] == options and all(meta["train_config"][k] == v for k, v in options.items())
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-5)
    # without its options the weights are a size too big for the default cnn: refused in one line, not guessed
    torch.save({**torch.load(path, weights_only=True), "arch_options": {}}, tmp_path / "lost.pt")
    with pytest.raises(CheckpointError, match="weights do not fit cnn"):
        load_checkpoint(tmp_path / "lost.pt")


def test_readme_gives_the_shipped_defaults_figures():
    """The README's results table states the default's test and sketch figures: they must be the checkpoint's own."""
    import re
    meta = load_checkpoint("default")[1]
    readme = README.read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `cnn` (default)"))
    cells = [re.sub(r"\*\*", "", c).strip() for c in row.strip("|").split("|")]
    m = meta["metrics"]
    assert cells[1] == f"{sum(p.numel() for p in load_checkpoint('default')[0].parameters()):,}"
    recipe = cells[2]
    assert all(f"--{k} {v}" in recipe for k, v in meta["arch_options"].items())
    assert f"--epochs {meta['train_config']['epochs']}" in recipe
    assert cells[5] == f"{m['accuracy'] * 100:.2f} %"
    balanced = m["sketch_balanced_accuracy"]
    assert cells[6:10] == [f"{balanced[k] * 100:.1f} %" for k in ("outline", "outline+fill", "filled", "designs")]
    assert f"{m['train_seconds']:.0f} s" in cells[4]


def test_readme_per_class_table_gives_both_shipped_models_figures():
    """The README's per-class table (each cell `default` / `lenet`) states the checkpoints' own figures, every column."""
    readme = README.read_text().splitlines()
    start = next(i for i, line in enumerate(readme) if line.startswith("| class (`default` / `lenet`)"))
    rows = {cells[0]: cells[1:] for cells in
            ([c.strip() for c in line.strip("|").split("|")] for line in readme[start + 2:start + 12])}
    metrics = [load_checkpoint(name)[1]["metrics"] for name in ("default", "lenet")]
    columns = ("outline", "outline+fill", "filled", "designs", "coloured")
    assert list(rows) == list(CLASS_NAMES)
    for name, cells in rows.items():
        expected = [" / ".join(f"{m['per_class_accuracy'][name] * 100:.1f}" for m in metrics)]
        expected += [" / ".join(f"{m['sketch_per_class_accuracy'][c][name] * 100:.0f}" for m in metrics) for c in columns]
        assert cells == expected, name
