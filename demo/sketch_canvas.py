"""The drawing pad: a plain <canvas> in a gr.HTML with a little JavaScript (pen sizes, eraser, undo, redo,
clear; mouse, pen and finger through pointer events). Gradio's Sketchpad was replaced because its Clear
left the brush unselected and, from the second time on, the strokes on screen, and because it exported
and uploaded three 448x448 images before each prediction (~0.9 s); this pad sends one small PNG of the
ink, downsampled in the browser, as its value (a JSON string), and fires `input` when a stroke ends."""

from __future__ import annotations

import base64
import binascii
import json

import gradio as gr
import numpy as np

from fmnist.preprocess import TOO_LARGE, ImageError, open_image

SIDE = 448  # drawing pixels (shown at up to 1:1); the sketch evaluation set is drawn at this size too
SENT = 224  # the side of the picture sent to the server: a quarter of the pixels, still 8x the model's 28
# The pad's canvas once its script listens to strokes (f"#sketchpad {READY}"); a pad without the busy mark (an older
# app's) counts as ready too.
READY = "canvas:not([aria-busy])"
PEN_SIZES = {"Thin": 8, "Medium": 16, "Thick": 28}  # pen widths in drawing pixels; Medium is the default

TEMPLATE = """
<div class="pad-tools" role="toolbar" aria-label="Drawing tools">
  <span class="pad-title" id="pad-title">Getting the pad ready…</span>
  <span class="pad-group" role="group" aria-label="Pen size">
    <button type="button" class="pad-size" data-size="8" aria-pressed="false">Thin</button>
    <button type="button" class="pad-size" data-size="16" aria-pressed="true">Medium</button>
    <button type="button" class="pad-size" data-size="28" aria-pressed="false">Thick</button>
  </span>
  <button type="button" class="pad-eraser" aria-pressed="false">Eraser</button>
  <button type="button" class="pad-undo" disabled title="Undo (Ctrl+Z)" aria-keyshortcuts="Control+Z Meta+Z">Undo</button>
  <button type="button" class="pad-redo" disabled title="Redo (Ctrl+Y or Ctrl+Shift+Z)"
          aria-keyshortcuts="Control+Y Control+Shift+Z Meta+Shift+Z">Redo</button>
  <button type="button" class="pad-clear" aria-label="Clear the drawing" title="Clear the drawing"><svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2"><path d="M3 6h18M8 6V4h8v2M6 6l1 14h10l1-14"/></svg> Clear</button>
</div>
<canvas class="pad-canvas" width="448" height="448" role="img" aria-busy="true"
        aria-label="Drawing area: draw a garment with the mouse, a pen or a finger"></canvas>
"""

CSS = """
.pad-tools { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 6px; }
.pad-title { font-weight: 600; margin-right: auto; }
.pad-group { display: inline-flex; gap: 2px; }
.pad-tools button { padding: 4px 10px; border: 1px solid #6b7280; border-radius: 6px; background: #fff;
                    color: #111827; font-size: 14px; cursor: pointer; }
.pad-tools button svg { display: inline; vertical-align: -2px; }  /* Gradio's page shows an svg as a block: the bin
                                                                     stood over "Clear", a button twice as tall */
.pad-tools button[aria-pressed="true"] { background: #1e3a8a; color: #fff; border-color: #1e3a8a; }
.pad-tools button:disabled { color: #4b5563; border-color: #9ca3af; cursor: default; }
.pad-tools button:focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }
.pad-canvas { display: block; width: 100%; max-width: 448px; aspect-ratio: 1 / 1; background: #fff;
              border: 1px solid #9ca3af; border-radius: 6px; touch-action: none; cursor: crosshair; }
.pad-canvas[aria-busy="true"] { cursor: progress; background: #f3f4f6; }
"""

# Runs once when the pad is mounted, a moment after the canvas shows, and while Gradio's loading veil still lies over
# the page (a stroke begun then reaches nothing): until both are past, the pad says "Getting the pad ready…" and
# looks busy; then it says "Draw a garment" and the canvas is no longer aria-busy (READY). `props.value` is what the
# server receives; setting it and calling trigger('input') sends it. A value set by the server to "" (the app's
# Clear, an upload) empties the pad, as its own Clear does, and Undo brings the drawing back.
JS = """
const cv = element.querySelector('.pad-canvas');
const SIDE = 448, SENT = 224;
// One canvas pixel for each screen pixel: on a phone or a laptop's sharp screen (2-3 screen pixels to a CSS pixel) a
// 448-pixel canvas was stretched and every stroke drawn soft. Strokes stay in SIDE units (the context is scaled). What
// is sent is drawn apart, stroke for stroke, on a SIDE-pixel canvas, as a 1:1 screen draws it, then brought to SENT:
// the screen's canvas brought down 3:1 to SIDE lost its strokes' soft edges (the browser samples, it does not average),
// and a phone's drawing reached the model one pixel off where a laptop's did.
const DPR = Math.min(3, Math.max(1, Math.round(window.devicePixelRatio || 1)));
cv.width = cv.height = SIDE * DPR;
const ctx = cv.getContext('2d');
ctx.setTransform(DPR, 0, 0, DPR, 0, 0);
const mid = DPR > 1 ? Object.assign(document.createElement('canvas'), {width: SIDE, height: SIDE}) : cv;
const mctx = mid.getContext('2d');
const pens = DPR > 1 ? [ctx, mctx] : [ctx];
const small = document.createElement('canvas');
small.width = small.height = SENT;
const sctx = small.getContext('2d');
// `strokes` are on the pad; `done` and `undone` are what Undo takes back and Redo does again: a stroke ({stroke}) or
// a clear ({cleared: the strokes it took away}), so a Clear, an upload or an example is undone like a stroke.
let strokes = [], done = [], undone = [], current = null, size = 16, erasing = false, seq = 0;
const q = s => element.querySelector(s);

function style(c, s) {
  c.globalCompositeOperation = s.erase ? 'destination-out' : 'source-over';
  c.strokeStyle = c.fillStyle = '#000';
  c.lineWidth = s.size; c.lineCap = c.lineJoin = 'round';
}
function dot(s, p) {
  for (const c of pens) { style(c, s); c.beginPath(); c.arc(p[0], p[1], s.size / 2, 0, 2 * Math.PI); c.fill(); }
}
function segment(s, a, b) {
  for (const c of pens) { style(c, s); c.beginPath(); c.moveTo(a[0], a[1]); c.lineTo(b[0], b[1]); c.stroke(); }
}
function paint(s) {
  dot(s, s.pts[0]);
  for (let i = 1; i < s.pts.length; i++) segment(s, s.pts[i - 1], s.pts[i]);
}
function redraw() { pens.forEach(c => c.clearRect(0, 0, SIDE, SIDE)); strokes.forEach(paint); }
function buttons() { q('.pad-undo').disabled = !done.length; q('.pad-redo').disabled = !undone.length; }
function clearPad() {  // and back to the pen: on an empty pad the eraser would leave a stroke that shows nothing
  if (strokes.length) done.push({cleared: strokes});
  strokes = []; undone = []; current = null; redraw();
  erasing = false; q('.pad-eraser').setAttribute('aria-pressed', 'false');
}
function undo() {
  const a = done.pop();
  if (!a) return;
  if (a.stroke) strokes.pop(); else strokes = a.cleared;
  undone.push(a); redraw(); send();
}
function redo() {
  const a = undone.pop();
  if (!a) return;
  if (a.stroke) strokes.push(a.stroke); else strokes = [];
  done.push(a); redraw(); send();
}
function send() {
  seq += 1;
  let value = '';
  if (strokes.some(s => !s.erase)) {
    sctx.clearRect(0, 0, SENT, SENT);
    sctx.drawImage(mid, 0, 0, SENT, SENT);
    value = JSON.stringify({png: small.toDataURL('image/png'), strokes: strokes.filter(s => !s.erase).length,
                            seq: seq});
  }
  buttons();
  props.value = value;
  trigger('input');
}
function pos(e) {
  const r = cv.getBoundingClientRect();
  return [(e.clientX - r.left) * SIDE / r.width, (e.clientY - r.top) * SIDE / r.height];
}
cv.addEventListener('pointerdown', e => {
  if (e.button > 0 || current) return;
  e.preventDefault();
  cv.setPointerCapture(e.pointerId);
  current = {pts: [pos(e)], size: size, erase: erasing, id: e.pointerId};
  strokes.push(current); done.push({stroke: current}); undone = [];
  dot(current, current.pts[0]);
});
cv.addEventListener('pointermove', e => {
  if (!current || e.pointerId !== current.id) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of (events.length ? events : [e])) {
    const p = pos(ev);
    segment(current, current.pts[current.pts.length - 1], p);
    current.pts.push(p);
  }
});
const end = e => { if (!current || e.pointerId !== current.id) return; current = null; send(); };
cv.addEventListener('pointerup', end);
cv.addEventListener('pointercancel', end);
element.querySelectorAll('.pad-size').forEach(b => b.addEventListener('click', () => {
  size = Number(b.dataset.size); erasing = false;
  element.querySelectorAll('.pad-size').forEach(o => o.setAttribute('aria-pressed', String(o === b)));
  q('.pad-eraser').setAttribute('aria-pressed', 'false');
}));
q('.pad-eraser').addEventListener('click', () => {
  erasing = !erasing;
  q('.pad-eraser').setAttribute('aria-pressed', String(erasing));
});
q('.pad-undo').addEventListener('click', undo);
q('.pad-redo').addEventListener('click', redo);
q('.pad-clear').addEventListener('click', () => { clearPad(); send(); });
// The server empties the pad (the app's Clear, a photo, an example): undoable too; Undo brings the drawing back
// and it is answered again (a stroke empties the photo box).
watch('value', () => { if (!props.value && strokes.length) { clearPad(); buttons(); } });
// Ctrl+Z (Cmd+Z) undoes and Ctrl+Y or Ctrl+Shift+Z redoes while the pad is on screen, unless a text field has the
// keys. One listener for the page: a pad mounted again replaces the last one's.
const keys = e => {
  if (!(e.ctrlKey || e.metaKey) || e.altKey || !cv.isConnected || !cv.offsetParent || current) return;
  const t = e.target;
  if (t && (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT'
            || (t.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'range'].includes(t.type)))) return;
  const k = e.key.toLowerCase();
  if (k === 'z' && !e.shiftKey) { e.preventDefault(); undo(); }
  else if ((k === 'z' && e.shiftKey) || (k === 'y' && !e.shiftKey)) { e.preventDefault(); redo(); }
};
if (window.__fmnistPadKeys) document.removeEventListener('keydown', window.__fmnistPadKeys);
window.__fmnistPadKeys = keys;
document.addEventListener('keydown', keys);
// Ready when nothing lies over the canvas any more: Gradio's veil over the page while it loads goes a moment
// after this script has run, and a stroke begun under it never reaches the pad. 10 s at most in any case.
const since = performance.now();
(function settle() {
  const r = cv.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
  const seen = r.width > 0 && x >= 0 && y >= 0 && x < innerWidth && y < innerHeight;
  if (!seen || document.elementFromPoint(x, y) === cv || performance.now() - since > 10000) {
    q('.pad-title').textContent = 'Draw a garment';
    cv.removeAttribute('aria-busy');
  } else requestAnimationFrame(settle);
})();
"""


def sketch_canvas(elem_id: str = "sketchpad") -> gr.HTML:
    """The drawing pad; its value is "" (empty) or JSON {"png": data URL, "strokes": n, "seq": k}."""
    return gr.HTML("", html_template=TEMPLATE, css_template=CSS, js_on_load=JS, elem_id=elem_id,
                   apply_default_css=False)


def decode_drawing(value: str | None) -> tuple[np.ndarray | None, int]:
    """The pad's value -> (RGBA ink (SENT, SENT, 4) uint8, or None when the pad is empty; stroke count).
    Raises ImageError for a value that is not one the pad sends (e.g. a hand-made API call)."""
    if not value:
        return None, 0
    try:
        data = json.loads(value)
        header, _, payload = data["png"].partition(",")
        if header != "data:image/png;base64":
            raise ValueError
        raw = base64.b64decode(payload, validate=True)
        strokes = int(data.get("strokes", 1))
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise ImageError("the drawing could not be read (not the drawing pad's format)") from None
    if len(raw) > 2_000_000:
        raise ImageError("the drawing is too large", problem=TOO_LARGE)
    img = open_image(raw)
    if max(img.size) > 2 * SIDE:
        raise ImageError(f"the drawing is {img.size[0]}x{img.size[1]} pixels, larger than the pad",
                         problem=TOO_LARGE)
    return np.asarray(img.convert("RGBA")), strokes


def pad_value(rgba: np.ndarray, strokes: int = 1) -> str:
    """An RGBA drawing (H, W, 4) uint8 -> the value the pad sends for it (downsampled to SENT like the
    browser does): for tests, the latency command and API callers."""
    import io

    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(rgba), "RGBA").resize((SENT, SENT), Image.Resampling.BOX)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return json.dumps({"png": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(),
                       "strokes": strokes, "seq": 0})
