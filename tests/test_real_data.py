"""On the real Fashion-MNIST (Debian's dataset-fashion-mnist, which CI installs)."""

from __future__ import annotations

import pytest

from conftest import real_data
from fmnist.checkpoint import load_checkpoint
from fmnist.data import load_fashion_mnist, to_float
from fmnist.evaluate import evaluate
from fmnist.train import EpochRecord, TrainConfig, prepare_run, train_epochs

pytestmark = real_data


@pytest.fixture(scope="module")
def data():
    return load_fashion_mnist()


def test_real_files_have_the_documented_shape(data):
    assert data.train_images.shape == (60000, 28, 28) and data.test_images.shape == (10000, 28, 28)
    assert sorted(data.train_labels.bincount().tolist()) == [6000] * 10
    assert abs(float(data.train_images.float().mean() / 255) - 0.2860) < 1e-3


@pytest.mark.slow
def test_one_epoch_of_the_seed_recipe_beats_80_percent(data):
    run = prepare_run(TrainConfig(batch_size=100, epochs=1, device="cpu"))
    last = [r for r in train_epochs(run, data) if isinstance(r, EpochRecord)][-1]
    assert last.test_acc > 0.80


def test_shipped_lenet_matches_its_metadata_and_beats_the_seed(data):
    model, meta = load_checkpoint("lenet")
    evaluation, _ = evaluate(model, to_float(data.test_images), data.test_labels)
    assert evaluation.accuracy == pytest.approx(meta["metrics"]["accuracy"], abs=1e-4)
    assert evaluation.accuracy >= 0.8976  # the seed's best figure
    assert meta["train_config"]["batch_size"] == 100 and meta["train_config"]["epochs"] == 25


@pytest.mark.slow
def test_shipped_default_is_the_cnn_and_beats_lenet_on_photos_and_drawings(data):
    from fmnist.sketches import sketch_accuracy, sketch_set

    cnn, meta = load_checkpoint("default")
    assert meta["arch"] == "cnn"
    evaluation, _ = evaluate(cnn, to_float(data.test_images), data.test_labels)
    assert evaluation.accuracy == pytest.approx(meta["metrics"]["accuracy"], abs=1e-4)
    assert evaluation.accuracy > load_checkpoint("lenet")[1]["metrics"]["accuracy"]
    measured = sketch_accuracy(cnn, meta["normalization"], sketch_set(data))  # the set train and evaluate use
    assert {k: r["accuracy"] for k, r in measured.items()} == meta["metrics"]["sketch_accuracy"]
    lenet = load_checkpoint("lenet")[1]["metrics"]["sketch_accuracy"]
    assert all(measured[k]["accuracy"] > lenet[k] + 0.05 for k in lenet)
    assert measured["outline"]["accuracy"] > 0.75 and measured["filled"]["accuracy"] > 0.8
