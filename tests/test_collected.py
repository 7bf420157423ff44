"""The class's drawings (fmnist.collected): kept under their class once each, moved when relabelled, never half
written; read back through the app's preprocessing and scored per class; and `evaluate --collected`."""

from __future__ import annotations

import errno
import json
import os
from itertools import islice
from pathlib import Path

import numpy as np
import pytest

from conftest import write_idx_dataset
from fmnist import storage
from fmnist import atomic, collected
from fmnist.checkpoint import load_checkpoint
from fmnist.collected import (FOLDERS, CollectionError, add_drawing, collected_accuracy, collection_version,
                              count_drawings, load_collection, read_drawing)
from fmnist.data import CLASS_NAMES
from fmnist.preprocess import preprocess_drawing
from fmnist.sketches import iter_designs
from test_cli import fmnist


def designs(n: int, seed: int = 5) -> list:
    """n of the sketch set's design drawings, spread over the classes (RGBA canvases and labels)."""
    return list(islice(iter_designs(seed=seed), 0, 1044, 1044 // n))[:n]


def test_a_drawing_is_kept_once_under_its_class_and_read_back_as_drawn(tmp_path):
    s = designs(1)[0]
    path, new = add_drawing(tmp_path, s.canvas, s.label)
    assert new and path.parent.name == FOLDERS[s.label] and path.suffix == ".png"
    assert np.array_equal(read_drawing(path), s.canvas)  # the pixels as the pad sent them
    again, new = add_drawing(tmp_path, s.canvas.copy(), s.label)
    assert again == path and not new
    assert count_drawings(tmp_path) == {n: int(i == s.label) for i, n in enumerate(CLASS_NAMES)}
    assert FOLDERS[0] == "t-shirt-top" and FOLDERS[9] == "ankle-boot" and len(set(FOLDERS)) == 10


def test_added_again_under_another_class_it_moves_there(tmp_path):
    s = designs(1)[0]
    first, _ = add_drawing(tmp_path, s.canvas, s.label)
    other = (s.label + 1) % 10
    moved, new = add_drawing(tmp_path, s.canvas, other)
    assert new and moved.parent.name == FOLDERS[other] and not first.exists()
    assert sum(count_drawings(tmp_path).values()) == 1


@pytest.mark.parametrize("rgba, label, words", [
    (np.zeros((224, 224, 4), np.uint8), 3, "nothing is drawn"),
    (np.full((224, 224, 3), 9, np.uint8), 3, "RGBA picture"),
    (np.full((224, 224, 4), 9, np.float32), 3, "RGBA picture"),
    (np.full((2000, 100, 4), 9, np.uint8), 3, "larger than 1024"),
    (np.full((224, 224, 4), 9, np.uint8), 10, "from 0 to 9"),
    (np.full((224, 224, 4), 9, np.uint8), -1, "from 0 to 9"),
    (np.full((224, 224, 4), 9, np.uint8), True, "from 0 to 9"),
    (np.full((224, 224, 4), 9, np.uint8), "Coat", "from 0 to 9"),
])
def test_a_drawing_that_cannot_be_kept_is_refused_in_words_and_nothing_is_written(tmp_path, rgba, label, words):
    with pytest.raises(CollectionError, match=words):
        add_drawing(tmp_path, rgba, label)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_a_full_disk_or_a_full_folder_is_said_and_leaves_no_half_written_file(tmp_path, monkeypatch):
    s, t = designs(2)

    def no_space(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", no_space)
    with pytest.raises(CollectionError, match="the server's disk is full"):
        add_drawing(tmp_path, s.canvas, s.label)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # the temp file removed too
    monkeypatch.undo()
    add_drawing(tmp_path, s.canvas, s.label)
    monkeypatch.setattr(collected, "MAX_DRAWINGS", 1)
    with pytest.raises(CollectionError, match="the collection is full"):
        add_drawing(tmp_path, t.canvas, t.label)
    assert add_drawing(tmp_path, s.canvas, (s.label + 1) % 10)[1]  # relabelling one kept adds nothing: allowed


def test_read_back_through_the_apps_preprocessing_with_unreadable_files_named(tmp_path):
    kept = designs(12)
    for s in kept:
        add_drawing(tmp_path, s.canvas, s.label)
    (tmp_path / "coat" / "broken.png").write_bytes(b"not a png")
    (tmp_path / "coat" / f"{collected.TEMP_PREFIX}x1y2.png").write_bytes(b"\x89PNG half")  # a killed write's temp file
    (tmp_path / "coat" / "notes.txt").write_text("ignored: not a .png")
    (tmp_path / "hats").mkdir()
    add_drawing(tmp_path / "hats", kept[0].canvas, 0)  # a folder that is not a class's: not read
    collection = load_collection(tmp_path)
    assert collection.skipped == (("coat/broken.png", collection.skipped[0][1]),)
    assert "broken.png" in collection.skipped[0][1] and str(tmp_path) not in collection.skipped[0][1]
    assert len(collection.files) == len(kept) == len(collection.prepared.labels)
    assert sum(count_drawings(tmp_path).values()) == len(kept) + 1  # broken.png is a file there; the temp file not
    by_file = {f: i for i, f in enumerate(collection.files)}
    for s in kept:
        name = add_drawing(tmp_path, s.canvas, s.label)[0]
        i = by_file[f"{FOLDERS[s.label]}/{name.name}"]
        assert collection.prepared.labels[i] == s.label
        assert np.array_equal(collection.prepared.images[i], preprocess_drawing(s.canvas))
    assert list(collection.prepared.labels) == sorted(collection.prepared.labels)  # class by class


def test_a_growing_folder_is_read_once_with_a_cache_and_its_version_follows_it(tmp_path, monkeypatch):
    kept = designs(4)
    for s in kept[:3]:
        add_drawing(tmp_path, s.canvas, s.label)
    before = collection_version(tmp_path)
    cache = {}
    load_collection(tmp_path, cache)
    read = []
    monkeypatch.setattr(collected, "read_drawing", lambda p: read.append(p) or read_drawing(p))
    assert len(load_collection(tmp_path, cache).files) == 3 and read == []
    add_drawing(tmp_path, kept[3].canvas, kept[3].label)
    after = collection_version(tmp_path)
    assert [a != b for a, b in zip(after, before)] == [i == kept[3].label for i in range(10)]  # its class's folder
    assert len(load_collection(tmp_path, cache).files) == 4 and len(read) == 1  # only the new one


def test_the_read_cache_keeps_only_the_files_there_are(tmp_path):
    kept = designs(3)
    for s in kept:
        add_drawing(tmp_path, s.canvas, s.label)
    cache = {}
    load_collection(tmp_path, cache)
    moved, _ = add_drawing(tmp_path, kept[0].canvas, (kept[0].label + 1) % 10)
    collection = load_collection(tmp_path, cache)
    assert sorted(cache) == sorted(collection.files) and f"{moved.parent.name}/{moved.name}" in cache


def test_no_folder_or_an_empty_one_is_an_error_in_words(tmp_path):
    with pytest.raises(CollectionError, match="no such folder"):
        load_collection(tmp_path / "missing")
    (tmp_path / "coat").mkdir()
    with pytest.raises(CollectionError, match="no drawings in it"):
        load_collection(tmp_path)
    assert collection_version(tmp_path / "missing") == (0,) * 10


def test_scored_per_class_with_the_surest_mistakes_first(tmp_path):
    model, meta = load_checkpoint("lenet")
    kept = [s for s in designs(40) if s.label in (1, 5, 8)]
    for s in kept:
        add_drawing(tmp_path, s.canvas, s.label)
    blank = np.zeros((224, 224, 4), np.uint8)
    blank[100, 100] = 255  # one dot: preprocessing finds nothing to classify, scored as wrong
    add_drawing(tmp_path, blank, 1)
    result = collected_accuracy(model, meta["normalization"], load_collection(tmp_path))
    from fmnist.predict import predict_proba, to_input
    preds = {s.label: [] for s in kept}
    for s in kept:
        preds[s.label].append(int(predict_proba(model, to_input(preprocess_drawing(s.canvas),
                                                                meta["normalization"]))[0].argmax()))
    right = {c: sum(p == c for p in ps) for c, ps in preds.items()}
    n = {c: len(ps) + (c == 1) for c, ps in preds.items()}
    assert result["n"] == len(kept) + 1
    assert result["per_class_n"] == {name: n.get(i, 0) for i, name in enumerate(CLASS_NAMES)}
    for i, name in enumerate(CLASS_NAMES):
        expected = None if i not in n else pytest.approx(right[i] / n[i], abs=1e-4)
        assert result["per_class_accuracy"][name] == expected, name
    assert result["balanced_accuracy"] == pytest.approx(np.mean([right[c] / n[c] for c in n]), abs=1e-4)
    assert len(result["mistakes"]) == result["n"] - sum(right.values())
    sure = [m["probability"] for m in result["mistakes"] if m["probability"] is not None]
    assert sure == sorted(sure, reverse=True)
    dot = [m for m in result["mistakes"] if m["predicted"] is None]
    assert len(dot) == 1 and dot[0]["label"] == "Trouser"


def test_evaluate_collected_on_the_command_line(tmp_path):
    data = write_idx_dataset(tmp_path / "fm", n_train=100, n_test=100)
    for s in designs(10):
        add_drawing(tmp_path / "drawn", s.canvas, s.label)
    res = fmnist("evaluate", "lenet", "--collected", "drawn", "--data-dir", str(data), "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    result = json.loads(res.stdout)["collected"]
    assert result["n"] == 10 and set(result["per_class_n"]) == set(CLASS_NAMES)
    res = fmnist("evaluate", "lenet", "--collected", "drawn", "--data-dir", str(data), cwd=tmp_path)
    assert res.returncode == 0 and "people's drawings in drawn: " in res.stdout
    assert "of 10, class-balanced" in res.stdout
    (tmp_path / "runs" / "drawings").mkdir(parents=True)
    for args, words in ((("--collected", "nowhere"), "--collected: nowhere: no such folder"),
                        (("--collected",), "--collected: runs/drawings: no drawings in it")):
        res = fmnist("evaluate", "lenet", *args, "--data-dir", str(data), cwd=tmp_path)
        assert res.returncode == 2 and words in res.stderr and "Traceback" not in res.stderr, res.stderr


def test_the_folder_is_the_environments_or_the_spaces_storage_or_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("FMNIST_DRAWINGS", str(tmp_path / "mine"))
    assert collected.collection_folder() == tmp_path / "mine"
    monkeypatch.delenv("FMNIST_DRAWINGS")
    monkeypatch.setattr(storage, "SPACES_DATA", tmp_path)
    assert collected.collection_folder() == tmp_path / "drawings"
    monkeypatch.setattr(storage, "SPACES_DATA", tmp_path / "absent")
    assert collected.collection_folder() == Path("runs/drawings")
    assert os.environ.get("FMNIST_DRAWINGS") is None


def test_an_archive_on_a_full_disk_is_said_and_leaves_no_half_written_file(tmp_path, monkeypatch):
    import zipfile

    for s in designs(3):
        add_drawing(tmp_path / "drawn", s.canvas, s.label)
    assert collected.write_archive(tmp_path / "drawn", tmp_path / "all.zip") == 3

    def no_space(*_, **__):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "write", no_space)
    with pytest.raises(CollectionError, match="the server's disk is full"):
        collected.write_archive(tmp_path / "drawn", tmp_path / "again.zip")
    assert not (tmp_path / "again.zip").exists()


def test_with_a_cache_each_drawing_goes_through_the_model_once(tmp_path, monkeypatch):
    model, meta = load_checkpoint("lenet")
    kept = designs(6)
    for s in kept[:5]:
        add_drawing(tmp_path, s.canvas, s.label)
    cache = {}
    first = collected_accuracy(model, meta["normalization"], load_collection(tmp_path), cache)
    seen = []
    original = collected.drawing_probabilities
    monkeypatch.setattr(collected, "drawing_probabilities", lambda m, n, images: seen.append(len(images)) or
                        original(m, n, images))
    assert collected_accuracy(model, meta["normalization"], load_collection(tmp_path), cache) == first and seen == []
    add_drawing(tmp_path, kept[5].canvas, kept[5].label)
    moved, _ = add_drawing(tmp_path, kept[0].canvas, (kept[0].label + 1) % 10)  # relabelled: a new file
    again = collected_accuracy(model, meta["normalization"], load_collection(tmp_path), cache)
    assert seen == [2] and again["n"] == 6 and len(cache) == 6  # the new and the moved one; the old entry pruned
    assert again == collected_accuracy(model, meta["normalization"], load_collection(tmp_path))  # as without one


def test_clearing_deletes_the_drawings_and_temp_files_and_nothing_else(tmp_path):
    for s in designs(4):
        add_drawing(tmp_path, s.canvas, s.label)
    (tmp_path / "coat").mkdir(exist_ok=True)
    (tmp_path / "coat" / f"{collected.TEMP_PREFIX}abc.png").write_bytes(b"half")
    (tmp_path / "coat" / "README.txt").write_text("kept")
    (tmp_path / "elsewhere.png").write_bytes(b"not in a class folder: kept")
    assert collected.clear_collection(tmp_path) == 4
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["README.txt", "elsewhere.png"]
    assert collected.clear_collection(tmp_path) == 0 and collected.clear_collection(tmp_path / "none") == 0


def test_without_the_dataset_evaluate_collected_scores_the_drawings_alone(isolated, capsys):
    """A teacher with the app (which needs no dataset) and the class's drawings, but not Fashion-MNIST."""
    from fmnist.__main__ import main

    for s in designs(10):
        add_drawing(isolated / "drawn", s.canvas, s.label)
    model, meta = load_checkpoint("lenet")
    expected = collected_accuracy(model, meta["normalization"], load_collection(isolated / "drawn"))
    assert main(["evaluate", "lenet", "--collected", "drawn", "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["collected"] == expected and "accuracy" not in alone
    assert alone["test_set"].startswith("skipped: Fashion-MNIST not found")
    assert main(["evaluate", "lenet", "--collected", "drawn"]) == 0
    out = capsys.readouterr().out
    assert "the test set skipped: Fashion-MNIST not found" in out and "people's drawings in drawn: " in out
    assert main(["evaluate", "lenet", "--collected", "drawn", "--sketches"]) == 2  # the sketch set needs the data
    assert capsys.readouterr().err.startswith("error: Fashion-MNIST not found")
