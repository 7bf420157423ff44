"""The Predict tab: a sketchpad ready to draw on, an upload box, live top classes, the 28x28 image
the model sees and (optionally) which parts carry its answer (occlusion) and its first feature maps;
a student can also load a checkpoint of their own (from the Train tab or `python -m fmnist train`)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import gradio as gr
import numpy as np
from matplotlib import colormaps

from demo.models import all_models, get_model, is_number, model_card, model_key, picker_entries, shown_name
from demo.sketch_canvas import decode_drawing, sketch_canvas
from fmnist.checkpoint import CheckpointError, load_checkpoint
from fmnist.collected import CollectionError, add_drawing, collecting, collection_folder, count_drawings
from fmnist.data import CLASS_NAMES
from fmnist.preprocess import (HEIC_PHOTO, TOO_LARGE, UNRECOGNISED, BlankImageError, ImageError, bare_shape,
                               drawing_and_strays, open_image, preprocess_image)
from fmnist.predict import Verdict, feature_maps, judge, occlusion, predict_proba, to_input

PREVIEW = 224  # the 28x28 model input, enlarged 8x
EXAMPLES_DIR = Path(__file__).parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.png"))  # test-NNNN-<class>.png (test images), drawing-<class>.png
MAX_LOADED = 8  # checkpoints one session may load (each is a model in this process's memory)


def enlarge(image28: np.ndarray, size: int = PREVIEW) -> np.ndarray:
    """Nearest-neighbour enlargement so each model pixel is visible as a square."""
    k = size // image28.shape[0]
    return np.kron(image28, np.ones((k, k), dtype=image28.dtype))


def tile_maps(maps: list[np.ndarray], cell: int = 56, per_row: int | None = None) -> np.ndarray:
    """Feature maps [(C, H, W), ...] -> one uint8 picture: each layer's maps in rows of up to per_row
    cells (each map scaled to its own maximum), a blank row between layers. By default 8 a row, more for a wide
    net, so a layer takes at most 4 rows (a width-48 cnn's 48 maps: 4 rows of 12)."""
    per_row = per_row or max(8, -(-max(len(m) for m in maps) // 4))
    width = per_row * (cell + 4)
    rows = []
    for m in maps:
        cells = []
        for fmap in m:
            scaled = fmap / fmap.max() if fmap.max() > 0 else fmap
            cells.append(np.pad(enlarge((scaled * 255).astype(np.uint8), cell), 2))
        for i in range(0, len(cells), per_row):
            row = np.concatenate(cells[i:i + per_row], axis=1)
            rows.append(np.pad(row, ((0, 0), (0, width - row.shape[1]))))
        rows.append(np.zeros((cell // 4, width), np.uint8))
    return np.concatenate(rows[:-1], axis=0)


def heat_overlay(image28: np.ndarray, heat28: np.ndarray) -> np.ndarray:
    """The enlarged 28x28 input in grey with a 28x28 map in [0, 1] laid over it in colour (RGB)."""
    heat28 = enlarge(heat28)
    base = np.repeat(enlarge(image28)[..., None], 3, axis=2).astype(np.float32) * 0.6
    alpha = 0.7 * heat28[..., None]
    heat = colormaps["jet"](heat28)[..., :3] * 255
    return ((1 - alpha) * base + alpha * heat).round().astype(np.uint8)


def answer(image28: np.ndarray, model_name: str, session_models: dict, show_maps: bool, source: str,
           drawn: bool = False, filled: bool = False, note: str = ""):
    """The shared tail of both inputs for a 28x28 image: (label, preview, evidence, maps, other models'
    answers, hint, status line). A confident answer shows its top classes; an unsure one says which two it
    hesitates between; a picture unlike any garment gets a sentence and no label; a top drawn (drawn) as a
    bare shape gets a hint on what tells tops apart (`fmnist.predict.judge`), and with "Fill closed outlines"
    on (filled), that the fill paints over what was drawn inside (answer_hint); note ends the status line."""
    model, meta = get_model(model_name, session_models)
    x = to_input(image28, meta["normalization"])
    probs = predict_proba(model, x)[0]
    names = meta["class_names"]
    bare = drawn and bare_shape(image28)
    verdict = judge(probs, bare)
    label = {name: float(p) for name, p in zip(names, probs)} if verdict.kind != "unlike" else None
    evidence = maps = None
    if show_maps and verdict.kind != "unlike":
        evidence = heat_overlay(image28, occlusion(model, image28, meta["normalization"], int(probs.argmax())))
        maps = tile_maps(feature_maps(model, x))
    hint = answer_hint(verdict, filled)
    return (label, enlarge(image28), gr.update(value=evidence, visible=bool(show_maps)),
            gr.update(value=maps, visible=bool(show_maps)), compare_models(image28, model_name, session_models, bare),
            html.escape(hint), status_html(status_line(verdict, names, source, note, hint), hint))


# Under the bars, after the answer for a top drawn as a bare shape: what a student can draw to say which top it is.
BARE_TOP_HINT = ("Tops drawn as a bare shape look alike: a collar and buttons make a Shirt, a zip or lapels a Coat, "
                 "a hood or ribbed cuffs a Pullover.")
FILLED_OVER = "(“Fill closed outlines” paints over lines drawn inside: untick it to show them.)"


def status_line(verdict: Verdict, names: list[str], source: str, note: str = "", hint: str = "") -> str:
    """The sentence shown above the bars and announced to screen readers, then the note (a sentence). With a hint
    (answer_hint, shown under the bars and read out after this line) it ends with a full stop."""
    (first, p1), (second, p2) = verdict.top[:2]
    if verdict.kind == "unlike":
        line = (f"The network does not recognise a garment in {source} (its best guess, {names[first]}, is only "
                f"{p1 * 100:.0f} %). Draw one whole garment, as large as the pad")
    elif verdict.kind == "unsure":
        line = f"Not sure: {names[first]} or {names[second]}? ({p1 * 100:.0f} % / {p2 * 100:.0f} %, {source})"
    else:
        line = f"Prediction for {source}: {names[first]}, {p1 * 100:.0f} %"
    if verdict.kind == "unlike" or note or hint:
        line += "."
    return f"{line} {note}" if note else line


def answer_hint(verdict: Verdict, filled: bool = False) -> str:
    """What is shown under the bars after an answer: BARE_TOP_HINT for a top drawn as a bare shape (with FILLED_OVER
    when "Fill closed outlines" made it so), else "". It goes under the bars, not into the status line above them:
    three more lines there moved the bars down and up again as a student's strokes made a top bare and not."""
    if not verdict.shape_only or verdict.kind == "unlike":
        return ""
    return f"{BARE_TOP_HINT} {FILLED_OVER}" if filled else BARE_TOP_HINT


LISTED_OTHERS = 3  # other models the line names one by one: the shipped ones, then this session's newest


def compare_models(image28: np.ndarray, model_name: str, session_models: dict, bare: bool = False) -> str:
    """One line: what every other model (shipped, and this session's) answers for the same picture, sure or not;
    bare: a drawing with nothing inside its shape (each judged as the main answer is). The shipped models and this
    session's newest are named, LISTED_OTHERS in all; older ones of the session's (up to MAX_SESSION_RUNS trained
    and any loaded) are counted by their answer, so the line stays about two lines long however many a student has."""
    others = [n for n in all_models(session_models)
              if model_key(n, session_models) != model_key(model_name, session_models)]
    # the shipped ones, then the session's newest first (all_models lists the session's oldest first)
    order = [n for n in others if n not in session_models] + [n for n in reversed(others) if n in session_models]
    answers, counted = [], {}
    for i, name in enumerate(order):
        model, meta = get_model(name, session_models)
        verdict = judge(predict_proba(model, to_input(image28, meta["normalization"]))[0], bare)
        if i < LISTED_OTHERS:
            answers.append(f"{shown_name(name)}: {short_answer(verdict, meta['class_names'])}")
        else:
            key = {"unlike": "no garment", "unsure": "not sure"}.get(verdict.kind,
                                                                    f"**{meta['class_names'][verdict.top[0][0]]}**")
            counted[key] = counted.get(key, 0) + 1
    if counted:
        n = sum(counted.values())
        tally = ", ".join(f"{v} {k}" for k, v in sorted(counted.items(), key=lambda kv: -kv[1]))
        answers.append(f"{n} older model{'s' if n > 1 else ''} of yours: {tally}")
    return "Other models: " + " · ".join(answers) if answers else ""


def short_answer(verdict: Verdict, names: list[str]) -> str:
    """A model's answer in a few words, judged as the main answer is (a bold class only when it is sure)."""
    (first, p1), (second, p2) = verdict.top[:2]
    if verdict.kind == "unlike":
        return f"no garment (best guess {names[first]}, {p1 * 100:.0f} %)"
    if verdict.kind == "unsure":
        return f"not sure, **{names[first]}** or **{names[second]}**? ({p1 * 100:.0f} / {p2 * 100:.0f} %)"
    return f"**{names[first]}** {p1 * 100:.0f} %"


PLACES = (("top left", "top", "top right"), ("left", "middle", "right"), ("bottom left", "bottom", "bottom right"))


def strays_note(strays: list[tuple[float, float]]) -> str:
    """What the status line says about stray marks left out of a drawing (`fmnist.preprocess.drawing_and_strays`:
    (x, y) as fractions of the pad), "" for none: where each lies, by thirds of the pad."""
    if not strays:
        return ""
    places = list(dict.fromkeys(PLACES[min(int(y * 3), 2)][min(int(x * 3), 2)] for x, y in strays))
    where = " and ".join([", ".join(places[:-1]), places[-1]] if len(places) > 1 else places)
    marks = "A small mark" if len(strays) == 1 else f"{len(strays)} small marks"
    return (f"{marks} away from the garment ({where} of the pad) {'was' if len(strays) == 1 else 'were'} left out, "
            "as a tap or a slip of the pen.")


def nothing(message: str, show_maps: bool = False):
    """No answer: empty outputs and one sentence saying why."""
    hidden = gr.update(value=None, visible=bool(show_maps))
    return None, None, hidden, hidden, "", "", status_html(message)


NOTHING_DRAWN = "Draw a garment on the pad, or upload a photo."


def predict_drawing(value: str | None, model_name: str, session_models: dict, show_maps: bool,
                    fill: bool = False):
    """Handler for every finished stroke, undo, redo or clear on the pad."""
    try:
        rgba, _ = decode_drawing(value)
        if rgba is None:
            return nothing(NOTHING_DRAWN, show_maps)
        image28, strays = drawing_and_strays(rgba, fill=bool(fill))
    except BlankImageError as err:
        return nothing(f"✏️ {str(err)[0].upper()}{str(err)[1:]}.", show_maps)
    except ImageError as err:
        return nothing(f"⚠️ {err}", show_maps)
    return answer(image28, model_name, session_models, show_maps, "your drawing", drawn=True, filled=bool(fill),
                  note=strays_note(strays))


def upload_path(value: dict | str | None) -> str | None:
    """The upload box's value as its events send it, unprocessed (a file's path in Gradio's cache): Gradio's
    own preprocessing opens the file with PIL first and fails, before any handler can say why, on a file
    that is not a picture or one over PIL's size limit."""
    if isinstance(value, dict):
        return value.get("path")
    return value or None


def predict_upload(value: dict | str | None, model_name: str, session_models: dict, show_maps: bool):
    """Handler for an uploaded, pasted or example picture. No picture (the box emptied because the
    student drew) changes nothing."""
    path = upload_path(value)
    if not path:
        return (gr.skip(),) * 7
    get_model(model_name, session_models)  # unprocessed, the picker's value is checked here: a bad name is refused
    try:
        image28 = preprocess_image(path)
    except BlankImageError as err:
        return nothing(f"⚠️ This picture looks blank to the network: {blank_reason(err)}", show_maps)
    except ImageError as err:
        return nothing(f"⚠️ {upload_problem(err, path)}", show_maps)
    return answer(image28, model_name, session_models, show_maps, "the photo")


def keep_one_input(value: dict | str | None):
    """After an upload -> (pad, upload box): a picture empties the pad (one input is answered at a time);
    a file that is not one leaves the box, so no broken image stays next to the sentence saying why."""
    path = upload_path(value)
    if not path:
        return gr.skip(), gr.skip()
    try:
        open_image(path)
    except ImageError:
        return gr.skip(), None
    return "", gr.skip()


def blank_reason(err: BlankImageError) -> str:
    text = str(err).removeprefix("nothing to classify: ")
    return text + ". A light garment on a transparent background reads as blank: save it on a dark background."


def upload_problem(err: ImageError, path: str) -> str:
    """An upload the app cannot read, in a student's words (the server's temp path left out)."""
    text = str(err).replace(str(path), "this picture")
    if err.kind == HEIC_PHOTO:
        return ("This is an HEIC photo, the iPhone camera's own format, which the app cannot read: upload it as a JPEG "
                "(share or export it as JPEG, or take a screenshot of it) and it will be read.")
    if err.kind:
        return f"This file is {err.kind}, not a picture the app can read: upload a PNG, JPEG, GIF or WebP image of it."
    if err.problem == UNRECOGNISED:
        return "This file is not a picture the app can read (is it really a PNG, JPEG, GIF or WebP image?)."
    if err.problem == TOO_LARGE:
        return f"This picture is too large for the app: {text.split(': ', 1)[-1]}. Shrink it and upload it again."
    return f"This picture cannot be read: {text.split(': ', 1)[-1]}."


def predict_current(value: str | None, path: str | None, model_name: str, session_models: dict, show_maps: bool,
                    fill: bool = False):
    """Handler for a new model or a changed switch: answer again for the one input being answered (the
    drawing if there is one, else the photo)."""
    if value:
        return predict_drawing(value, model_name, session_models, show_maps, fill)
    if path:
        return predict_upload(path, model_name, session_models, show_maps)
    return nothing(NOTHING_DRAWN, show_maps)


MAX_KEPT_PER_PAGE = 200  # drawings one page may add to the collection (a class adds a few each)
KEEP_PROMPT = ("Was it right or wrong? Say what you drew and add your drawing to the class's drawings: they show how "
               "well the network knows real drawings. Only the drawing is kept, no name.")


def keep_drawing(value: str | None, drawn_as: str | None, kept: int):
    """Handler for "Add it to the class's drawings": the pad's drawing joins the collection under the class the
    student picked -> (message, the class picker, this page's count). Nothing drawn, no class picked, the page's
    limit, a full disk: a sentence, and the drawing stays on the pad."""
    kept = kept if isinstance(kept, int) else 0
    if drawn_as not in CLASS_NAMES:
        return "⚠️ First pick what you drew, then add it.", gr.update(), kept
    try:
        rgba, _ = decode_drawing(value)
    except ImageError as err:
        return f"⚠️ {err}", gr.update(), kept
    if rgba is None or not rgba[..., 3].any():
        return "⚠️ Only drawings from the pad are kept: draw a garment first.", gr.update(), kept
    if kept >= MAX_KEPT_PER_PAGE:
        return f"⚠️ This page has added {MAX_KEPT_PER_PAGE} drawings, the most one page may.", gr.update(), kept
    try:
        folder = collection_folder()
        _, new = add_drawing(folder, rgba, CLASS_NAMES.index(drawn_as))
    except CollectionError as err:
        return f"⚠️ Your drawing could not be kept: {err}. It is still on the pad.", gr.update(), kept
    counts = count_drawings(folder)
    total = sum(counts.values())
    if not new:
        return f"This drawing is already among the class's drawings as {drawn_as} ({total} in all).", None, kept
    return (f"✅ Added as {drawn_as}, thank you. The class's drawings: {total} ({counts[drawn_as]} {drawn_as}). "
            "The Class tab shows how each model does on them."), None, kept + 1


def clear_all(show_maps: bool):
    """Handler for Clear: an empty pad, no photo, no answer."""
    return ("", None, *nothing(NOTHING_DRAWN, show_maps))


def load_own_checkpoint(path: str | None, session_models: dict):
    """Handler for "Load a checkpoint": a checkpoint file joins this session's models and is picked.
    Returns (session models, picker update, message); a bad file changes nothing and says why."""
    if not path:
        return session_models, gr.update(), ""
    filename = Path(path).name
    loaded = [name for name, (_, meta) in session_models.items() if meta.get("loaded_from")]
    if len(loaded) >= MAX_LOADED:
        return session_models, gr.update(), (f"⚠️ {filename}: this session has already loaded {MAX_LOADED} "
                                             "checkpoints; reload the page to start afresh.")
    try:
        model, meta = load_checkpoint(path)
    except CheckpointError as err:
        return session_models, gr.update(), f"⚠️ {checkpoint_problem(err, path)}"
    metrics = meta.get("metrics")
    accuracy = metrics.get("accuracy") if isinstance(metrics, dict) else None
    name = f"{filename} ({accuracy * 100:.1f} %)" if is_number(accuracy) else filename
    meta = {**meta, "loaded_from": filename}
    meta.pop("path", None)  # a server temp path, not for the student's eyes
    session_models = {**session_models, name: (model, meta)}
    return (session_models, gr.update(choices=picker_entries(session_models), value=name),
            f"✅ Loaded **{name}**: a {meta['arch']} model, now picked (for you only).")


def checkpoint_problem(err: CheckpointError, path: str) -> str:
    """A checkpoint the app cannot use, in a student's words: the file's own name, never the server's temp
    path or PyTorch's unpickler text."""
    filename = Path(path).name
    text = str(err).replace(str(path), filename)
    if err.unreadable is not None:
        kind = (f"not a checkpoint the app can read ({err.unreadable})" if Path(path).suffix.lower() == ".pt"
                else "not a checkpoint (.pt file)")
        return (f"{filename}: {kind}. Load a model.pt downloaded from the Train tab or written by "
                "`python -m fmnist train`.")
    if "weights do not fit" in text:
        return f"{text.split(' (', 1)[0]}: they are another model's weights."
    return text


def describe_model(model_name: str, session_models: dict) -> str:
    return model_card(get_model(model_name, session_models)[1])


def status_html(text: str, hint: str = "") -> str:
    """A sentence for the status line (an HTML element): class names from a loaded file are not trusted. The hint
    shown under the bars (answer_hint) is in it too, for screen readers only, so that the answer and the hint are
    announced together, once (the one under the bars is hidden from them)."""
    return html.escape(text) + (f' <span class="sr-only">{html.escape(hint)}</span>' if hint else "")


def example_label(path: Path) -> str:
    """What an example thumbnail is called for a screen reader, from its file name:
    "test-0000-ankle-boot.png" -> "Ankle boot, a Fashion-MNIST test image"."""
    kind, _, rest = path.stem.partition("-")
    slug = re.sub(r"[^a-z]", "", re.sub(r"^\d+-", "", rest))
    name = next((n for n in CLASS_NAMES if re.sub(r"[^a-z]", "", n.lower()).startswith(slug) and slug), None)
    if name is None or kind not in ("test", "drawing"):
        raise ValueError(f"{path.name}: an example is named test-NNNN-<class>.png or drawing-<class>.png")
    return f"{name}, {'a Fashion-MNIST test image' if kind == 'test' else 'a drawing'}"


# Gradio 6.31 renders buttons without a name that a screen reader announces as just "button" (axe-core:
# button-name, critical): each example is a <button> holding only an <img alt="">, and so is each output
# picture (the 28x28 one, the evidence, the feature maps, the Train tab's figures). The examples are named
# after their garment (found by the file name at the end of the image's URL), an output picture after its
# component's label; the observer names them again whenever Gradio redraws them.
NAMES_JS = """() => {
  const examples = %s;
  const name = (el, text) => { if (text && el.getAttribute('aria-label') !== text) el.setAttribute('aria-label', text); };
  const names = () => {
    document.querySelectorAll('#examples .gallery-item').forEach(b => {
      const src = decodeURIComponent(b.querySelector('img')?.getAttribute('src') || '');
      const text = examples[src.split('/').pop()];
      name(b, text);
      if (text) b.title = text;
    });
    document.querySelectorAll('.image-container > button').forEach(b => {
      name(b, b.closest('.block')?.querySelector('[data-testid="block-label"]')?.innerText.trim());
    });
  };
  new MutationObserver(names).observe(document.body, {childList: true, subtree: true});
  names();
}""" % json.dumps({p.name: example_label(p) for p in EXAMPLES})

# The status line and the other models' line say more for some answers than for others: "not sure, Shirt or
# T-shirt/top? (44 / 40 %)" against "Shirt 82 %", for each model a student has; with two models of their own the line
# took two lines at one stroke and three at the next (1400 px), and the 28x28 picture under it went 22 px down and up
# with the strokes. Each box keeps the tallest height it has had at this page width (CSS gives the starting height):
# what is under it moves down at most when a longer answer first comes, never back up and down again while a student
# draws.
STEADY_JS = """() => {
  const ids = ['predict-message', 'other-models'];
  const watched = new Set();
  const keep = box => {
    box.style.boxSizing = 'border-box';  // min-height then holds the height measured, padding included
    new ResizeObserver(() => {
      const h = box.getBoundingClientRect().height;
      if (h > (parseFloat(box.style.minHeight) || 0)) box.style.minHeight = h + 'px';
    }).observe(box);
  };
  const find = () => ids.forEach(id => {
    const box = document.getElementById(id);
    if (box && !watched.has(box)) { watched.add(box); keep(box); }
  });
  new MutationObserver(find).observe(document.body, {childList: true, subtree: true});
  find();
  let width = window.innerWidth;  // a new width (a phone turned, a window resized) wraps the lines anew
  window.addEventListener('resize', () => {
    if (window.innerWidth !== width) { width = window.innerWidth; watched.forEach(b => { b.style.minHeight = ''; }); }
  });
}"""

# The upload box's accessible name ("Drop an image file here to upload") did not contain its visible text
# ("Drop Image Here - or - Click to Upload"; axe-core: label-content-name-mismatch): a speech-input user
# says what they see. Gradio's own English text for that name is replaced by the visible one.
ACCESSIBLE_TEXTS = gr.I18n(en={"image.drop_to_upload": "Drop Image Here - or - Click to Upload"})


# The Predict tab's CSS. On a phone the two columns stack, which would put the prediction below the upload box, the examples
# and the model picker, a long scroll away from the drawing. There, the columns' contents are laid out
# as one list instead: the pad, its controls, then what the model answers and sees, then the rest.
PREDICT_CSS = """
@media (max-width: 640px) {
  #predict-row { flex-direction: column; }
  #predict-row > .column { display: contents; }
  #predict-row > .column > * { order: 10; }
  #predict-row > .column > #sketchpad { order: 1; }
  #predict-row > .column > #draw-controls { order: 2; }
  #predict-row > .column > #predict-message { order: 3; }
  #predict-row > .column > #prediction { order: 3; }
  #predict-row > .column > #answer-hint { order: 3; }
  #predict-row > .column > #other-models { order: 3; }
  #predict-row > .column > #keep-message { order: 3; }
  #predict-row > .column > #keep-drawing { order: 3; }
  #predict-row > .column > #preview { order: 4; }
}
/* two lines kept for the status line: an answer that says more (a stray mark left out, a scribble) does not push the
   bars and the 28x28 picture down a line while a student draws */
#predict-message p { margin: 4px 0; font-size: 1.05em; line-height: 1.5; min-height: 3em; }
/* three on a phone: "The network does not recognise a garment in your drawing (its best guess, Shirt, is only 34 %).
   Draw one whole garment, as large as the pad." takes three at 390 px, and a half-drawn coat got it and pushed the
   28x28 picture 22 px down */
@media (max-width: 640px) { #predict-message p { min-height: 4.5em; } }
/* the bars' box and the other models' line keep their height while there is no answer (a fresh page, after Clear, a
   scribble "not a garment"): the first answer pushed everything under them (the keep-your-drawing prompt, the 28x28
   picture) 123 px down, and a scribble pulled it back up. 210 px holds three bars and the class's name in Gradio 6.31's
   theme, whose sizes are in px (tests/test_browser.py checks that nothing under the bars moves). The other models' line
   keeps two lines: an unsure answer there ("lenet: not sure, Sneaker or Sandal? (57 / 43 %)") took two on a phone and
   at 1024 px and moved the 28x28 picture 23 px down and up again as a student's strokes made it sure and not */
#prediction { min-height: 210px; }
#other-models { min-height: 48px; }
/* the hint under the bars for a top drawn as a bare shape; nothing at all when there is none */
#answer-hint p { margin: 0; line-height: 1.5; }
#answer-hint:has(p:empty) { display: none; }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
#keep-drawing { align-items: center; }  /* the button beside the class picker, not stretched to its height */
/* Gradio 6.31 floats a picture's label (and its icon buttons) over the picture's top rows: the waistband of a drawn
   pair of trousers was hidden under "What the model sees", and a photo's corner under the upload box's. The label gets a row of its own above the picture, the
   icons beside it; the enlarged 28x28 pixels stay sharp squares at any size. */
#upload, #preview, #evidence, #feature-maps { display: flex; flex-direction: column; }
#preview img, #evidence img, #feature-maps img { image-rendering: pixelated; }
#upload > [data-testid="block-label"], #preview > [data-testid="block-label"],
#evidence > [data-testid="block-label"], #feature-maps > [data-testid="block-label"] {
  position: static; align-self: flex-start; margin: 0 6.5em 6px 0; }
#upload .image-container, #preview .image-container, #evidence .image-container,
#feature-maps .image-container { position: static; min-height: 0; }
/* an uploaded photo fills its frame: a 28x28 Fashion-MNIST image (the examples) was shown 28 pixels wide */
#upload .image-frame img { object-fit: contain; }
"""
STATUS_TEMPLATE = '<p role="status" aria-live="polite" aria-atomic="true">${value}</p>'
HINT_TEMPLATE = '<p aria-hidden="true">${value}</p>'  # read out with the status line (status_html)


def build_predict_tab(model_choices: list[tuple[str, str]], session_models: gr.State) -> gr.Dropdown:
    """Lay out the Predict tab inside the current Blocks; returns the model picker."""
    with gr.Row(elem_id="predict-row"):
        with gr.Column(scale=3):
            pad = sketch_canvas("sketchpad")
            with gr.Row(elem_id="draw-controls"):
                fill = gr.Checkbox(False, label="Fill closed outlines (Fashion-MNIST garments are solid)",
                                   elem_id="fill")
                clear = gr.Button("Clear drawing, photo and answer", elem_id="clear", size="sm")
            upload = gr.Image(label="…or upload / paste a photo", sources=["upload", "clipboard"],
                              type="filepath", image_mode=None, elem_id="upload", height=220)
            gr.Examples([str(p) for p in EXAMPLES], inputs=upload, elem_id="examples",
                        label="Examples: Fashion-MNIST test images and drawings", examples_per_page=12)
        with gr.Column(scale=2):
            first = model_choices[0][1]
            model_pick = gr.Dropdown(model_choices, value=first, label="Model", elem_id="model-pick")
            # the card is written with the page, not filled in after it: filled in on load, it arrived after the
            # pad was ready and moved everything below it down by its height (a layout shift under the student's eyes)
            card = gr.Markdown(describe_model(first, {}), elem_id="model-card")
            load_button = gr.UploadButton("Load a checkpoint (.pt) from the Train tab or the command line",
                                          type="filepath", size="sm", elem_id="load-checkpoint")
            load_message = gr.Markdown(elem_id="load-message")
            message = gr.HTML(status_html(NOTHING_DRAWN), html_template=STATUS_TEMPLATE, elem_id="predict-message")
            label = gr.Label(num_top_classes=3, label="Prediction", elem_id="prediction")
            hint = gr.HTML("", html_template=HINT_TEMPLATE, elem_id="answer-hint")
            others = gr.Markdown(elem_id="other-models")
            keep_message = gr.Markdown(KEEP_PROMPT, elem_id="keep-message", visible=collecting())
            with gr.Row(elem_id="keep-drawing", visible=collecting()):
                drawn_as = gr.Dropdown(list(CLASS_NAMES), value=None, label="What did you draw?", scale=2,
                                       elem_id="drawn-as")
                keep = gr.Button("Add it to the class's drawings", size="sm", scale=1, elem_id="keep")
            kept = gr.State(0)
            preview = gr.Image(label="What the model sees (28×28, enlarged)", height=PREVIEW + 40, format="png",
                               interactive=False, elem_id="preview")
            show_maps = gr.Checkbox(False, label="Show what the network sees: which parts make its answer, and its "
                                                "first feature maps", elem_id="show-maps")
            evidence = gr.Image(label="Erase which part, and it is less sure of its answer? (red = most)",
                                height=PREVIEW + 40, format="png", interactive=False, elem_id="evidence",
                                visible=False)
            maps = gr.Image(label="Feature maps: conv layer 1, then conv layer 2", interactive=False, format="png",
                            elem_id="feature-maps", visible=False)
    outputs = [label, preview, evidence, maps, others, hint, message]
    common = dict(show_progress="hidden", concurrency_id="predict", trigger_mode="always_last")
    # One input is answered at a time: a stroke empties the photo box, a photo empties the pad.
    pad.input(predict_drawing, [pad, model_pick, session_models, show_maps, fill], outputs,
              api_name="predict_drawing", **common).then(lambda: (None, KEEP_PROMPT), None, [upload, keep_message],
                                                          queue=False, show_progress="hidden")
    upload.change(predict_upload, [upload, model_pick, session_models, show_maps], outputs, preprocess=False,
                  api_name="predict_upload", **common).then(keep_one_input, upload, [pad, upload], preprocess=False,
                                                            queue=False, show_progress="hidden")
    upload.clear(lambda show: nothing(NOTHING_DRAWN, show), show_maps, outputs, api_visibility="private",
                 show_progress="hidden", queue=False)
    for trigger in (model_pick.change, show_maps.change, fill.change):
        trigger(predict_current, [pad, upload, model_pick, session_models, show_maps, fill], outputs,
                api_visibility="private", **common)
    clear.click(clear_all, show_maps, [pad, upload, *outputs], api_visibility="private",
                show_progress="hidden", queue=False).then(
        lambda: (None, KEEP_PROMPT), None, [drawn_as, keep_message], queue=False, show_progress="hidden")
    keep.click(keep_drawing, [pad, drawn_as, kept], [keep_message, drawn_as, kept], api_visibility="private",
               show_progress="hidden", concurrency_id="predict")
    model_pick.change(describe_model, [model_pick, session_models], card, api_visibility="private",
                      show_progress="hidden")
    load_button.upload(load_own_checkpoint,
                       [load_button, session_models], [session_models, model_pick, load_message],
                       api_visibility="private", show_progress="hidden", concurrency_id="predict")
    return model_pick

