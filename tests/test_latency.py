"""`python -m demo.latency --quick`: the documented latency command runs against a started app and reports
where the time goes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")]


def test_latency_command_quick():
    out = subprocess.run([sys.executable, "-m", "demo.latency", "--quick", "--json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["drawings"] == 3 and len(result["answers"]) == 3
    parts = result["median_ms"]
    assert 0 < result["p50_ms"] <= result["p95_ms"] < 5000  # loose: CI machines are shared
    assert parts["uploads_ms"] == 0  # the pad sends its picture with the call: no upload before it
    assert 0 < parts["before_first_request_ms"] < parts["total_ms"] and 0 < parts["queue_model_render_ms"] < parts["total_ms"]
    assert all(a.startswith(("Prediction for your drawing", "Not sure", "The network does not")) for a in result["answers"])
