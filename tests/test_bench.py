"""`python -m fmnist bench --quick --json`: one JSON object with the documented keys and sane values."""

import json

import pytest

from conftest import write_idx_dataset
from fmnist.__main__ import main


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
