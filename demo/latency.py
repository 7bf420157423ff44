"""`python -m demo.latency`: how long a student waits, in a real browser, from lifting the pen to the new
answer. Starts `python app.py` (or uses --url), draws garments one after another in headless Chromium with
the mouse (each garment's outline, one stroke), Clear between them, and prints p50/p95 and where the time goes: the browser's work before it
sends anything, uploads, and the queue + model + answer drawn on the page; plus the handler's own time in
this process for the same drawings."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from demo.loadtest import start_app
from demo.sketch_canvas import READY
from fmnist.sketches import DRAWINGS

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

# Page-side clock: when the pen was lifted, and when the answer's text last changed (performance.now(), ms).
# The answer is the status line, or the label of apps that have none (the Sketchpad version measured before).
INSTRUMENT = """
window.__lat = {up: 0, changed: 0, text: ''};
document.addEventListener('pointerup', () => { window.__lat.up = performance.now(); }, true);
new MutationObserver(() => {
  const el = document.querySelector('#predict-message [role=status]') || document.querySelector('#prediction');
  const text = el ? el.innerText : '';
  if (text !== window.__lat.text) { window.__lat.text = text; window.__lat.changed = performance.now(); }
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""


def garment_strokes(label: int, template: int = 0, margin: float = 0.08) -> list[list[tuple[float, float]]]:
    """One of fmnist.sketches' hand-constructed garments as strokes in fractions of a square (the outline
    closed, then its extra strokes), centred, its aspect kept."""
    outline, extra, aspect = DRAWINGS[label][template]
    w, h = min(1.0, aspect), min(1.0, 1 / aspect)
    side = 1 - 2 * margin

    def place(points):
        return [(0.5 + (x - 0.5) * w * side, 0.5 + (y - 0.5) * h * side) for x, y in points]

    return [place(outline + outline[:1]), *[place(line) for line in extra]]


def stroke_path(box: dict, points: list[tuple[float, float]], steps: int = 6) -> list[tuple[float, float]]:
    """Screen positions along a stroke through points given as fractions of the largest square centred in
    box (a bounding box from Playwright), `steps` pointer moves per segment."""
    side = min(box["width"], box["height"])
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    xy = [(left + side * x, top + side * y) for x, y in points]
    return [xy[0]] + [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
                      for (x0, y0), (x1, y1) in zip(xy, xy[1:]) for k in range(1, steps + 1)]


def mouse_stroke(page, box: dict, points: list[tuple[float, float]]) -> None:
    path = stroke_path(box, points)
    page.mouse.move(*path[0])
    page.mouse.down()
    for x, y in path[1:]:
        page.mouse.move(x, y)
    page.mouse.up()


def measure_browser(url: str, n: int, reload: bool = False, timeout_s: float = 30) -> list[dict]:
    """Draw n garments (the classes in turn) and time each answer; Clear (or, with reload, a fresh page)
    between them. One record per drawing, in ms."""
    from playwright.sync_api import sync_playwright

    records = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.add_init_script(INSTRUMENT)
        page.goto(url)
        for i in range(n + 1):  # the first drawing warms up the page and the server; not counted
            if reload and i:
                page.reload()
            canvas = page.locator(f"#sketchpad {READY}").first
            canvas.wait_for(timeout=60_000)
            if reload:
                page.wait_for_timeout(1500)  # the old Sketchpad picks its brush after loading
            box = canvas.bounding_box()
            page.evaluate("performance.clearResourceTimings()")
            mouse_stroke(page, box, garment_strokes(i % 10)[0])  # the outline, one stroke
            page.wait_for_function("window.__lat.changed > window.__lat.up && window.__lat.text.includes('%')",
                                   timeout=timeout_s * 1000)
            page.wait_for_timeout(300)  # later answers (the others' strokes) would move `changed` on
            lat = page.evaluate("window.__lat")
            sent = page.evaluate("""(up) => performance.getEntriesByType('resource')
                .filter(e => e.startTime >= up && e.name.includes('/gradio_api/'))
                .map(e => ({name: e.name, start: e.startTime, end: e.responseEnd}))""", lat["up"])
            join = [e for e in sent if "queue/join" in e["name"]]
            first = min((e["start"] for e in sent), default=None)
            if i and join and first is not None:
                joined = join[-1]["start"]
                records.append({"total_ms": lat["changed"] - lat["up"], "before_first_request_ms": first - lat["up"],
                                "uploads_ms": joined - first, "queue_model_render_ms": lat["changed"] - joined,
                                "requests": len(sent), "names": [e["name"].split("/gradio_api/")[1][:30] for e in sent], "answer": lat["text"].splitlines()[0][:60]})
            if not reload:
                page.locator("#clear").click()
                page.wait_for_function("!window.__lat.text.includes('%')", timeout=timeout_s * 1000)
        browser.close()
    return records


def measure_handler(n: int) -> list[float]:
    """The drawing handler's own time (decode, preprocess, both models, status line) for the same
    garments, drawn at the pad's size and sent as the pad sends them, in this process (ms)."""
    from PIL import Image, ImageDraw

    from demo.predict_tab import predict_drawing
    from demo.sketch_canvas import SIDE, pad_value

    times = []
    for i in range(n + 1):
        alpha = Image.new("L", (SIDE, SIDE), 0)
        pen = ImageDraw.Draw(alpha)
        for stroke in garment_strokes(i % 10)[:1]:
            pen.line([(x * SIDE, y * SIDE) for x, y in stroke], fill=255, width=16, joint="curve")
        rgba = np.zeros((SIDE, SIDE, 4), np.uint8)
        rgba[..., 3] = np.asarray(alpha)
        value = pad_value(rgba)
        t = time.perf_counter()
        predict_drawing(value, "default", {}, False)
        if i:
            times.append((time.perf_counter() - t) * 1000)
    return times


def summary(records: list[dict], handler_ms: list[float]) -> dict:
    def pct(key, q):
        return round(float(np.percentile([r[key] for r in records], q)), 1)

    keys = ("total_ms", "before_first_request_ms", "uploads_ms", "queue_model_render_ms")
    return {"drawings": len(records), "p50_ms": pct("total_ms", 50), "p95_ms": pct("total_ms", 95),
            "median_ms": {k: pct(k, 50) for k in keys},
            "handler_in_process_p50_ms": round(float(np.median(handler_ms)), 1),
            "requests_per_answer": int(np.median([r["requests"] for r in records])),
            "answers": [r["answer"] for r in records]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.latency", description=__doc__)
    parser.add_argument("--url", help="an app already running (default: start python app.py)")
    parser.add_argument("--drawings", type=int, default=20, help="garments drawn and timed (default 20)")
    parser.add_argument("--quick", action="store_true", help="3 drawings (the CI check)")
    parser.add_argument("--reload", action="store_true",
                        help="a fresh page for every drawing instead of Clear (for the old Sketchpad version)")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    args = parser.parse_args(argv)
    n = 3 if args.quick else args.drawings
    if n < 1:
        parser.error("--drawings must be at least 1")
    if not Path(CHROMIUM).exists():
        print(f"needs Chromium at {CHROMIUM} (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    try:
        proc, url = (None, args.url) if args.url else start_app()
    except RuntimeError as err:
        raise SystemExit(f"error: {err}") from None
    try:
        records = measure_browser(url, n, reload=args.reload)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=20)
    if not records:
        print("no answer could be timed", file=sys.stderr)
        return 1
    result = summary(records, measure_handler(n) if not args.reload else [float("nan")])
    if args.json:
        print(json.dumps(result))
    else:
        m = result["median_ms"]
        print(f"{result['drawings']} drawings, mouse-up to new answer: p50 {result['p50_ms']} ms, "
              f"p95 {result['p95_ms']} ms")
        print(f"median: browser before its first request {m['before_first_request_ms']} ms, uploads "
              f"{m['uploads_ms']} ms, queue + model + answer on screen {m['queue_model_render_ms']} ms "
              f"({result['requests_per_answer']} requests per answer)")
        print(f"the handler itself, in process: p50 {result['handler_in_process_p50_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
