"""Load test: `python -m demo.loadtest` starts `python app.py` on 127.0.0.1 (`start_app`, which the tests
use too), starts one training, and has N concurrent clients send drawings; reports latency percentiles,
errors and memory. Traffic goes to 127.0.0.1 only; the run is bounded in request count and in time."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import httpx
from gradio_client import Client
from PIL import Image

from fmnist.sketches import sample_drawing

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory in MB from /proc (VmHWM: its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_app(env: dict | None = None, log: str | os.PathLike | None = None,
              timeout_s: float = 120) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free loopback port, as a teacher starts it, with `env` added to this process's
    environment; returns (process, url) once the page answers. Its output goes to the file `log` (else
    nowhere); if it exits or does not answer within timeout_s, it is killed and RuntimeError says so,
    with the log's last lines."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    out = open(log, "w") if log is not None else subprocess.DEVNULL
    try:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log is not None:
            out.close()  # the child holds its own copy
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                proc.wait(timeout=30)
                tail = Path(log).read_text()[-2000:] if log is not None else "(no log kept)"
                raise RuntimeError(f"the app did not start (exit status {proc.returncode}): {tail}") from None
            time.sleep(0.5)


def connect(url: str) -> Client:
    """A gradio_client session with the app; output files are left on the server (not downloaded)."""
    return Client(url, verbose=False, download_files=False)


# The timed predictions go through Gradio's REST API with httpx instead of gradio_client: gradio_client
# polls for each of a call's messages every 50 ms, which added ~150 ms of client-side waiting to every
# measured request here (p50 268 against 108 ms, one client, same run conditions).
def upload(http: httpx.Client, path: str) -> dict:
    """A picture sent to the app's upload endpoint, as the file reference a call takes."""
    with open(path, "rb") as f:
        response = http.post("/gradio_api/upload", files={"files": (Path(path).name, f, "image/png")})
    response.raise_for_status()
    return {"path": response.json()[0], "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}


def call(http: httpx.Client, api: str, data: list) -> list:
    """One call through the app's queue (POST, then its server-sent events): its outputs, or RuntimeError."""
    response = http.post(f"/gradio_api/call/{api}", json={"data": data})
    response.raise_for_status()
    event = None
    with http.stream("GET", f"/gradio_api/call/{api}/{response.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line.split(":", 1)[1])
                if event == "error":
                    raise RuntimeError(f"{api}: {payload}")
                return payload
    raise RuntimeError(f"{api}: the stream ended without a result")


TRAIN_ARGS = (100, 50, 0.001, "lenet", 0, 60000, False)  # batch, epochs, lr, model, seed, images, augment


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
                    job = connect(url).submit(*TRAIN_ARGS, api_name="/train")
                    while not job.done():
                        training["updates"] = len(job.outputs())
                        time.sleep(0.2)
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
                with httpx.Client(base_url=url, timeout=60) as http:  # one connection per student
                    ask(i, http)

            def ask(i: int, http: httpx.Client) -> None:
                for r in range(requests):
                    if time.time() > deadline:
                        with lock:
                            errors.append("deadline reached before all requests were sent")
                        return
                    t = time.perf_counter()
                    try:
                        picture = upload(http, drawings[(i + r) % len(drawings)])
                        label, *_, message = call(http, "predict_upload", [picture, "default", False])
                        ok = isinstance(label, dict) and label.get("label")
                    except Exception as err:  # any failure of the request counts as an error
                        ok, message = False, f"{type(err).__name__}: {err}"
                    with lock:
                        if ok:
                            latencies.append((time.perf_counter() - t) * 1000)
                        else:
                            errors.append(str(message)[:200])

            rss_before = rss_mb(proc.pid)
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
            "app_rss_mb_before": round(rss_before, 1), "app_rss_mb_after": round(rss_mb(proc.pid), 1),
            "app_peak_rss_mb": round(rss_mb(proc.pid, "VmHWM"), 1),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


LESSON_ARGS = (100, 1, 0.001, "lenet", 0, 2000, False)  # a short run: 1 epoch on 2,000 images


def run_class(students: int, at_once: int, timeout_s: float, env: dict | None = None) -> dict:
    """A class that trains and leaves: after one warm-up student (the dataset read, the first run's lazy
    imports), `students` sessions each train a short run (at_once of them at a time, queueing for the slot)
    and close their page; reports the app's memory at the start, at its peak and once they have left."""
    proc, url = start_app(env)
    try:
        deadline = time.time() + timeout_s
        failures: list[str] = []

        def student(seed: int) -> None:
            client = connect(url)
            try:
                job = client.submit(*LESSON_ARGS[:4], seed, *LESSON_ARGS[5:], api_name="/train")
                while not job.done() and time.time() < deadline:
                    time.sleep(0.2)
                final = job.outputs()[-1][0] if job.done() and job.outputs() else "no answer before the deadline"
                if not str(final).startswith("✅ Finished"):
                    failures.append(str(final)[:200])
            except Exception as err:  # a run that fails counts, and the class goes on
                failures.append(f"{type(err).__name__}: {err}"[:200])
            finally:
                client.close()  # the page is closed: its heartbeat stops, the app lets the session go

        def wait_for_release() -> float:
            """Until the app's memory stops falling (closed sessions are let go a few seconds after the
            heartbeat ends), at most 60 s."""
            last, settled = rss_mb(proc.pid), time.time() + 60
            while time.time() < settled:
                time.sleep(5)
                now = rss_mb(proc.pid)
                if abs(now - last) < 2:
                    break
                last = now
            return rss_mb(proc.pid)

        student(10_000)  # the warm-up
        start_rss = wait_for_release()
        seeds = iter(range(students))
        pool = [threading.Thread(target=lambda: [student(s) for s in seeds]) for _ in range(at_once)]
        t0 = time.time()
        for t in pool:
            t.start()
        for t in pool:
            t.join(timeout_s)
        wall = time.time() - t0
        peak = rss_mb(proc.pid, "VmHWM")
        after = wait_for_release()
        return {"students": students, "at_once": at_once, "failed": len(failures), "failure_examples": failures[:3],
                "wall_s": round(wall, 1), "app_rss_mb_start": round(start_rss, 1),
                "app_peak_rss_mb": round(peak, 1), "app_rss_mb_after_they_left": round(after, 1),
                "after_over_start": round(after / start_rss, 3)}
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
    parser.add_argument("--class-size", type=int, default=0, metavar="N",
                        help="instead: N students each train a short run and leave; memory before and after")
    parser.add_argument("--at-once", type=int, default=8, help="with --class-size: students active at a time")
    args = parser.parse_args(argv)
    if args.class_size:
        if not (1 <= args.class_size <= 200 and 1 <= args.at_once <= 32):
            parser.error("--class-size must be 1..200 and --at-once 1..32")
        result = run_class(args.class_size, args.at_once, args.timeout)
        print(json.dumps(result, indent=2))
        return 0 if result["failed"] == 0 and result["after_over_start"] <= 1.2 else 1
    if not (1 <= args.clients <= 64 and 1 <= args.requests <= 1000):
        parser.error("--clients must be 1..64 and --requests 1..1000")
    result = run_load(args.clients, args.requests, not args.no_train, args.timeout)
    print(json.dumps(result, indent=2))
    return 0 if result["errors"] == 0 and result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
