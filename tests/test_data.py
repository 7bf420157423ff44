"""Finding and reading Fashion-MNIST in every supported layout, and failing clearly."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from functools import partial

import pytest
import torch

from conftest import synthetic_split, write_csv_dataset, write_idx_dataset
from fmnist.data import (IDX_FILES, DataFormatError, DataNotFoundError, encode_idx, load_fashion_mnist,
                         stratified_subset, to_float)


def check_synthetic(data, n_train, n_test):
    assert data.train_images.shape == (n_train, 28, 28) and data.train_images.dtype == torch.uint8
    assert data.test_images.shape == (n_test, 28, 28)
    assert data.train_labels.dtype == torch.int64 and data.train_labels.shape == (n_train,)
    expected_x, expected_y = synthetic_split(n_train, 0)
    assert torch.equal(data.train_images, torch.from_numpy(expected_x))
    assert torch.equal(data.train_labels, torch.from_numpy(expected_y).long())


@pytest.mark.parametrize("gz", [True, False])
def test_reads_idx_files_gzipped_or_raw(isolated, gz):
    folder = write_idx_dataset(isolated / "d", gz=gz)
    data = load_fashion_mnist(folder)
    check_synthetic(data, 600, 200)
    assert str(folder) in data.source


@pytest.mark.parametrize("header", [True, False])
def test_reads_csv_with_or_without_header(isolated, header):
    folder = write_csv_dataset(isolated / "c", header=header)
    data = load_fashion_mnist(folder)
    check_synthetic(data, 300, 100)
    assert "CSV" in data.source


def test_search_order_env_then_local_data(isolated, monkeypatch):
    write_idx_dataset(isolated / "data")  # ./data
    env_dir = write_idx_dataset(isolated / "env", n_train=100, n_test=50)
    assert len(load_fashion_mnist().train_labels) == 600
    monkeypatch.setenv("FMNIST_DATA", str(env_dir))
    assert len(load_fashion_mnist().train_labels) == 100
    explicit = write_idx_dataset(isolated / "explicit", n_train=200, n_test=50)
    assert len(load_fashion_mnist(explicit).train_labels) == 200


def test_nothing_found_names_every_place(isolated):
    with pytest.raises(DataNotFoundError) as err:
        load_fashion_mnist(isolated / "empty")
    msg = str(err.value)
    for place in ("empty", "data", "no-debian", "FashionMNIST/raw"):
        assert place in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "--data-dir" in msg


def test_truncated_idx_file_is_named(isolated):
    folder = write_idx_dataset(isolated / "d", gz=False)
    path = folder / IDX_FILES["train_images"]
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataFormatError, match="train-images-idx3-ubyte.*truncated"):
        load_fashion_mnist(folder)


def test_corrupt_gzip_is_named(isolated):
    folder = write_idx_dataset(isolated / "d")
    (folder / (IDX_FILES["test_labels"] + ".gz")).write_bytes(b"\x1f\x8b this is not gzip")
    with pytest.raises(DataFormatError, match="t10k-labels-idx1-ubyte.gz"):
        load_fashion_mnist(folder)


def test_wrong_shape_and_bad_labels_are_refused(isolated):
    folder = write_idx_dataset(isolated / "d", gz=False)
    (folder / IDX_FILES["train_images"]).write_bytes(encode_idx(torch.zeros(600, 32, 32, dtype=torch.uint8).numpy()))
    with pytest.raises(DataFormatError, match=r"\(N, 28, 28\)"):
        load_fashion_mnist(folder)
    folder = write_idx_dataset(isolated / "e", gz=False)
    labels = synthetic_split(600, 0)[1].copy()
    labels[3] = 12
    (folder / IDX_FILES["train_labels"]).write_bytes(encode_idx(labels))
    with pytest.raises(DataFormatError, match="labels outside 0-9"):
        load_fashion_mnist(folder)


def test_csv_with_wrong_columns_is_named(isolated):
    folder = isolated / "c"
    folder.mkdir()
    (folder / "fashion-mnist_train.csv").write_text("1,2,3\n4,5,6\n")
    (folder / "fashion-mnist_test.csv").write_text("1,2,3\n")
    with pytest.raises(DataFormatError, match="fashion-mnist_train.csv.*785 columns"):
        load_fashion_mnist(folder)


def test_download_from_loopback_server(isolated, monkeypatch):
    """torchvision's real download code path, pointed at a server on 127.0.0.1 serving our files."""
    served = isolated / "served"
    served.mkdir()
    arrays = {"train": synthetic_split(120, 0), "t10k": synthetic_split(40, 1)}
    resources = []
    for key, stem in IDX_FILES.items():
        split, kind = ("train" if key.startswith("train") else "t10k"), key.split("_")[1]
        payload = gzip.compress(encode_idx(arrays[split][0 if kind == "images" else 1]))
        (served / (stem + ".gz")).write_bytes(payload)
        resources.append((stem + ".gz", hashlib.md5(payload).hexdigest()))
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        import torchvision.datasets

        monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors",
                            [f"http://127.0.0.1:{server.server_address[1]}/"])
        monkeypatch.setattr(torchvision.datasets.FashionMNIST, "resources", resources)
        with pytest.raises(DataNotFoundError):
            load_fashion_mnist(download_missing=False)
        data = load_fashion_mnist(download_missing=True)
    finally:
        server.shutdown()
    assert "downloaded" in data.source
    assert data.train_images.shape == (120, 28, 28) and data.test_labels.shape == (40,)
    assert (isolated / "data" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").exists()
    assert "idx files" in load_fashion_mnist().source  # found again without downloading


def test_failed_download_says_so(isolated, monkeypatch):
    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"])  # discard port
    with pytest.raises(DataNotFoundError, match="Download into data failed"):
        load_fashion_mnist(download_missing=True)


def test_stratified_subset_is_balanced_and_seeded():
    labels = torch.from_numpy(synthetic_split(1000, 0)[1]).long()
    a = stratified_subset(labels, 205, torch.Generator().manual_seed(3))
    b = stratified_subset(labels, 205, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and len(a.unique()) == 205
    counts = torch.bincount(labels[a], minlength=10)
    assert counts.max() - counts.min() <= 1
    with pytest.raises(ValueError):
        stratified_subset(labels, 0, torch.Generator())


def test_to_float_normalises():
    x = to_float(torch.full((2, 28, 28), 255, dtype=torch.uint8), mean=0.5, std=0.5)
    assert x.shape == (2, 1, 28, 28) and torch.allclose(x, torch.ones_like(x))


def test_remember_last_keeps_one_result_per_object_by_identity():
    import numpy as np

    from fmnist.data import remember_last

    calls = []

    @remember_last
    def total(a):
        calls.append(1)
        return int(a.sum())

    a, b = np.ones(3), np.ones(3)  # equal, but another object
    assert not total.ready(a)
    assert total(a) == 3 and total(a) == 3 and len(calls) == 1 and total.ready(a)
    assert not total.ready(b) and total(b) == 3 and len(calls) == 2  # a new object recomputes
    total.forget()
    assert not total.ready(b) and total(b) == 3 and len(calls) == 3

    @remember_last
    def scaled(a, k=1):
        calls.append(k)
        return int(a.sum()) * k

    assert scaled(a, 2) == 6 and scaled(a, 2) == 6 and calls[-1] == 2 and len(calls) == 4 and scaled.ready(a, 2)
    assert not scaled.ready(a, 3) and scaled(a, 3) == 9 and len(calls) == 5  # other arguments recompute
