"""Shared fixtures: small synthetic Fashion-MNIST files in every layout, and the real-data marker."""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from fmnist.data import DEBIAN_DIR, IDX_FILES, encode_idx

# Runs trained by the tests (in this process and in the apps they start) go to a class board of their own,
# never to the checkout's runs/fmnist.sqlite.
os.environ["FMNIST_DB"] = os.path.join(tempfile.mkdtemp(prefix="fmnist-test-board-"), "fmnist.sqlite")
os.environ["FMNIST_DRAWINGS"] = tempfile.mkdtemp(prefix="fmnist-test-drawings-")


# The first bytes of an iPhone camera's HEIC photo (its ftyp box as the camera writes it), which PIL cannot open
HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"


def synthetic_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n learnable 28x28 images: class c is a bright bar at row 2c+4 plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
        images[i, 2 * c + 4: 2 * c + 7, 4:24] = 230
    return images, labels.astype(np.uint8)


def write_idx_dataset(folder: Path, n_train: int = 600, n_test: int = 200, gz: bool = True) -> Path:
    """Write the four idx files (gzipped or raw) of a synthetic dataset into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (train_x, train_y), (test_x, test_y) = synthetic_split(n_train, 0), synthetic_split(n_test, 1)
    arrays = {"train_images": train_x, "train_labels": train_y, "test_images": test_x, "test_labels": test_y}
    for key, stem in IDX_FILES.items():
        data = encode_idx(arrays[key])
        if gz:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)
    return folder


def write_csv_dataset(folder: Path, header: bool, n_train: int = 300, n_test: int = 100) -> Path:
    """Write fashion-mnist_train.csv / _test.csv (label, 784 pixels) of a synthetic dataset."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (x, y) in (("train", synthetic_split(n_train, 0)), ("test", synthetic_split(n_test, 1))):
        rows = [",".join(["label"] + [f"pixel{i + 1}" for i in range(784)])] if header else []
        rows += [",".join(map(str, [int(lbl)] + img.flatten().tolist())) for img, lbl in zip(x, y)]
        (folder / f"fashion-mnist_{name}.csv").write_text("\n".join(rows) + "\n")
    return folder


def legend_as_read(fig) -> list[str]:
    """The names in a figure's legend in the order a person reads them: row by row, left to right."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = fig.axes[0].get_legend().get_texts()
    at = [(-round(t.get_window_extent(renderer).y0), t.get_window_extent(renderer).x0, t.get_text()) for t in texts]
    return [name for _, _, name in sorted(at)]


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder with no $FMNIST_DATA and the Debian folder hidden."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FMNIST_DATA", raising=False)
    monkeypatch.setattr("fmnist.data.DEBIAN_DIR", tmp_path / "no-debian")
    return tmp_path


# `@real_data` (or `pytestmark = real_data`) marks a test, so `-m "not real_data"` leaves it out, and it is
# skipped where the files are missing.
real_data = pytest.mark.real_data


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if (DEBIAN_DIR / "train-images-idx3-ubyte.gz").exists():
        return
    skip = pytest.mark.skip(reason=f"needs the real Fashion-MNIST in {DEBIAN_DIR} (apt-get install dataset-fashion-mnist)")
    for item in items:
        if item.get_closest_marker("real_data"):
            item.add_marker(skip)
