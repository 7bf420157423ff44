"""`python -m fmnist bench --quick --json`: one JSON object with the documented keys and sane values."""

import json

import pytest
import torch

from conftest import write_idx_dataset
from fmnist.__main__ import main
from fmnist.bench import bf16_measured_warning, bf16_step_ms


@pytest.mark.slow
def test_bench_json_has_the_documented_keys(tmp_path, capfd):
    data = write_idx_dataset(tmp_path / "d", n_train=3000, n_test=200)
    assert main(["bench", "--quick", "--json", "--data-dir", str(data), "--device", "cpu"]) == 0
    out, err = capfd.readouterr()
    result = json.loads(out)
    assert "profiler_start" not in err and "gpuGetDeviceCount" not in err  # the profiler's native chatter
    for key in ("train_images_per_s", "baseline_images_per_s", "train_speedup", "predict_p50_ms", "predict_p99_ms"):
        assert isinstance(result[key], (int, float)) and result[key] > 0, key
    assert result["train_speedup"] == result["training"]["100"]["speedup"]
    assert result["predict_p50_ms"] <= result["predict_p99_ms"]
    assert set(result["training"]) == {"32", "100", "256"}
    step = result["train_step_ms"]  # where a CPU step's time goes, from torch.profiler
    parts = [step[k] for k in ("convolutions", "pooling", "optimizer")]
    assert all(p > 0 for p in parts) and step["rest"] > 0
    assert abs(sum(parts) + step["rest"] - step["total"]) < 0.05
    assert result["default_step_ms"]["float32_ms"] > 0 and result["default_step_ms"]["bfloat16_ms"] > 0


def test_bf16_step_times_both_kinds_and_leaves_the_global_generator_alone():
    state = torch.random.get_rng_state()
    t = bf16_step_ms("lenet", {}, batch_size=32, steps=2)
    assert set(t) == {"float32_ms", "bfloat16_ms"} and all(v > 0 for v in t.values())
    assert torch.equal(torch.random.get_rng_state(), state)  # a run that measures first trains the same


@pytest.mark.parametrize("fp32,bf16,warned", [(240.0, 302.0, True), (250.0, 250.0, True), (254.0, 103.0, False)])
def test_bf16_warning_where_measured_slower(fp32, bf16, warned):
    asked = []

    def measure(model, options, batch_size):
        asked.append((model, options, batch_size))
        return {"float32_ms": fp32, "bfloat16_ms": bf16}

    cpu = bf16_measured_warning("cnn", {"width": 48, "stages": 3}, 128, torch.device("cpu"), measure)
    assert asked == [("cnn", {"width": 48, "stages": 3}, 128)]  # the run's own net and batch size
    assert (cpu is not None) == warned
    if warned:
        assert f"{bf16:.0f} ms in bfloat16 against {fp32:.0f} ms in float32" in cpu and "leave out --bf16" in cpu
    assert bf16_measured_warning("cnn", {}, 128, torch.device("cuda"), measure) is None and len(asked) == 1
