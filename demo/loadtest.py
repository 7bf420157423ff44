"""Load test: `python -m demo.loadtest` starts `python app.py` on 127.0.0.1, starts one training,
and has N concurrent clients send drawings; reports latency percentiles, errors and memory.
Traffic goes to 127.0.0.1 only; the run is bounded in request count and in time."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import uuid
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from fmnist.bench import sample_drawing

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class AppClient:
    """Plain HTTP to Gradio's REST API (upload, then call + server-sent events): one connection per client."""

    def __init__(self, url: str, timeout: float = 60):
        host, port = url.split("//")[1].strip("/").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def upload(self, path: str) -> dict:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{Path(path).name}\"\r\n"
                f"Content-Type: image/png\r\n\r\n").encode() + Path(path).read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        self.conn.request("POST", "/gradio_api/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = self.conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"upload: HTTP {response.status}")
        return {"path": json.loads(response.read())[0], "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}

    def events(self, api: str, data: list):
        """Yield (event, data) pairs of one call until it completes or fails."""
        self.conn.request("POST", f"/gradio_api/call/{api}", json.dumps({"data": data}),
                          {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"{api}: HTTP {response.status} {response.read()[:200]!r}")
        event_id = json.loads(response.read())["event_id"]
        self.conn.request("GET", f"/gradio_api/call/{api}/{event_id}")
        response = self.conn.getresponse()
        event = None
        for raw in response:
            line = raw.decode().strip()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                payload = json.loads(line.split(":", 1)[1])
                if event in ("complete", "error"):
                    response.read()  # finish the stream so the connection can carry the next request
                    yield event, payload
                    return
                yield event, payload

    def call(self, api: str, data: list) -> list:
        """The final outputs of a call; raises on an error event."""
        for event, payload in self.events(api, data):
            if event == "error":
                raise RuntimeError(f"{api}: {payload}")
            if event == "complete":
                return payload
        raise RuntimeError(f"{api}: stream ended without a result")


def start_app(extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free loopback port; returns the process and its URL once it answers."""
    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False", **(extra_env or {})}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the app did not start")
            time.sleep(0.5)


def run_load(clients: int, requests: int, train: bool, timeout_s: float) -> dict:
    """Run the load test against a fresh app process and return its figures."""
    proc, url = start_app()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            drawings = []
            for k in range(4):  # a few different drawings, as different students would send
                path = Path(tmp) / f"drawing{k}.png"
                Image.fromarray(np.roll(sample_drawing(), 40 * k, axis=1), "RGBA").save(path)
                drawings.append(str(path))
            training = {"updates": 0, "done": False}

            def trainer() -> None:  # one student training the whole time
                try:
                    for event, payload in AppClient(url, timeout=timeout_s + 60).events(
                            "train", [100, 50, 0.001, "lenet", 0, 60000, False]):
                        training["updates"] += 1
                finally:
                    training["done"] = True

            if train:
                threading.Thread(target=trainer, daemon=True).start()
                t0 = time.time()
                while time.time() - t0 < 60 and training["updates"] < 3:  # until it is really running
                    time.sleep(0.2)
            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()
            deadline = time.time() + timeout_s

            def student(i: int) -> None:
                client = AppClient(url)
                for r in range(requests):
                    if time.time() > deadline:
                        with lock:
                            errors.append("deadline reached before all requests were sent")
                        return
                    t = time.perf_counter()
                    try:
                        picture = client.upload(drawings[(i + r) % len(drawings)])
                        label, *_, message = client.call("predict_upload", [picture, "default", False])
                        ok = isinstance(label, dict) and label.get("label")
                    except Exception as err:  # any failure of the request counts as an error
                        ok, message = False, f"{type(err).__name__}: {err}"
                    with lock:
                        if ok:
                            latencies.append((time.perf_counter() - t) * 1000)
                        else:
                            errors.append(str(message)[:200])

            rss_before = _rss_mb(proc.pid)
            threads = [threading.Thread(target=student, args=(i,)) for i in range(clients)]
            start = time.time()
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout_s + 30)
            wall = time.time() - start
            training_running = train and training["updates"] >= 3 and not training["done"]
        ms = np.array(latencies) if latencies else np.array([float("nan")])
        return {
            "clients": clients, "requests_per_client": requests, "sent": clients * requests,
            "answered": len(latencies), "errors": len(errors), "lost": clients * requests - len(latencies) - len(errors),
            "error_examples": errors[:3], "training_during_test": bool(training_running),
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1), "max_ms": round(float(ms.max()), 1),
            "wall_s": round(wall, 1), "requests_per_s": round(len(latencies) / wall, 1),
            "app_rss_mb_before": round(rss_before, 1), "app_rss_mb_after": round(_rss_mb(proc.pid), 1),
            "app_peak_rss_mb": round(_rss_mb(proc.pid, "VmHWM"), 1),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    """Command line: prints one JSON object; exit status 1 if any request failed or was lost."""
    parser = argparse.ArgumentParser(prog="python -m demo.loadtest", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=50, help="predictions per client")
    parser.add_argument("--no-train", action="store_true", help="do not run a training during the test")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before the test gives up")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 64 and 1 <= args.requests <= 1000):
        parser.error("--clients must be 1..64 and --requests 1..1000")
    result = run_load(args.clients, args.requests, not args.no_train, args.timeout)
    print(json.dumps(result, indent=2))
    return 0 if result["errors"] == 0 and result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
