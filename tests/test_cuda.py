"""The CUDA path: skipped without a GPU (CI has none); run where one is present, e.g.
`python -m pytest tests/test_cuda.py`. It checks that a step on the GPU computes what a step on the
CPU computes, that augmentation and seeded dropout run on GPU tensors, and that a model trained on
the GPU is saved, loaded and served on the CPU."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import write_idx_dataset
from fmnist.__main__ import main
from fmnist.checkpoint import load_checkpoint
from fmnist.data import load_fashion_mnist
from fmnist.models import build_model
from fmnist.predict import predict_proba
from fmnist.train import EpochRecord, TrainConfig, prepare_run, train_epochs

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return load_fashion_mnist(write_idx_dataset(tmp_path_factory.mktemp("cuda") / "fm", 1000, 300))


def first_loss_and_weights(device: str, data, augment: bool):
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # compare fp32 with fp32
    cfg = TrainConfig(batch_size=100, epochs=1, seed=2, device=device, log_every=1, augment=augment)
    run = prepare_run(cfg)
    step = next(iter(train_epochs(run, data)))
    return step.loss, {k: v.detach().cpu() for k, v in run.model.state_dict().items()}


@pytest.mark.parametrize("augment", [False, True])  # augmentation draws from the run's CPU generator
def test_one_step_on_the_gpu_matches_the_cpu(data, augment):
    cpu_loss, cpu_weights = first_loss_and_weights("cpu", data, augment)
    gpu_loss, gpu_weights = first_loss_and_weights("cuda", data, augment)
    assert gpu_loss == pytest.approx(cpu_loss, rel=1e-4)
    for name, w in cpu_weights.items():
        assert torch.allclose(gpu_weights[name], w, atol=1e-5), name


def test_augmented_cnn_with_dropout_learns_on_the_gpu(data):
    cfg = TrainConfig(model="cnn", batch_size=50, epochs=6, seed=2, device="cuda", augment=True, cosine=True,
                      label_smoothing=0.1)
    run = prepare_run(cfg)
    epochs = [r for r in train_epochs(run, data) if isinstance(r, EpochRecord)]
    assert next(run.model.parameters()).is_cuda
    assert epochs[-1].test_acc > 0.6 and epochs[-1].loss < epochs[0].loss  # chance: 0.1


def test_cli_trains_on_the_gpu_and_the_checkpoint_serves_on_the_cpu(tmp_path, capsys):
    folder = write_idx_dataset(tmp_path / "fm", 1000, 300)
    assert main(["train", "--device", "cuda", "--epochs", "2", "--batch-size", "50", "--data-dir", str(folder),
                 "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("device: cuda (")  # with the card's name and memory
    model, meta = load_checkpoint(tmp_path / "run" / "model.pt")
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert meta["train_config"]["device"] == "cuda"
    assert main(["evaluate", str(tmp_path / "run" / "model.pt"), "--json", "--data-dir", str(folder)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] == json.loads((tmp_path / "run" / "metrics.json").read_text())["accuracy"]
    probs = predict_proba(model, torch.zeros(1, 1, 28, 28))
    assert probs.shape == (1, 10) and abs(float(probs.sum()) - 1) < 1e-5


def test_bench_runs_on_the_gpu(tmp_path, capsys):
    folder = write_idx_dataset(tmp_path / "fm", 3000, 200)
    assert main(["bench", "--quick", "--json", "--device", "cuda", "--data-dir", str(folder)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["device"].startswith("cuda (") and result["train_speedup"] > 0


def test_build_model_moves_to_the_gpu_in_channels_last():
    model = build_model("cnn", seed=0).cuda().to(memory_format=torch.channels_last).eval()
    x = torch.rand(4, 1, 28, 28, device="cuda").contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.allclose(model(x).cpu(), model.cpu()(x.cpu()), atol=1e-4)
