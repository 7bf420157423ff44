"""The Predict tab: a sketchpad ready to draw on, an upload box, live top classes, the 28x28 image
the model sees and (optionally) which parts carry its answer (occlusion) and its first feature maps;
a student can also load a checkpoint of their own (from the Train tab or `python -m fmnist train`)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
from matplotlib import colormaps

from demo.models import all_models, get_model, is_number, model_card, model_key
from fmnist.checkpoint import CheckpointError, load_checkpoint
from fmnist.preprocess import BlankImageError, ImageError, preprocess_image, preprocess_sketch
from fmnist.predict import feature_maps, predict_proba, occlusion, to_input

CANVAS = 448  # sketchpad pixels; shown at (nearly) 1:1 so strokes look as thick as they are
BRUSH_RADIUS = 14  # survives the shrink to 28x28 as a stroke about 2 pixels wide
PREVIEW = 224  # the 28x28 model input, enlarged 8x
EXAMPLES_DIR = Path(__file__).parent / "examples"
MAX_LOADED = 8  # checkpoints one session may load (each is a model in this process's memory)


def enlarge(image28: np.ndarray, size: int = PREVIEW) -> np.ndarray:
    """Nearest-neighbour enlargement so each model pixel is visible as a square."""
    k = size // image28.shape[0]
    return np.kron(image28, np.ones((k, k), dtype=image28.dtype))


def tile_maps(maps: list[np.ndarray], cell: int = 56, per_row: int = 8) -> np.ndarray:
    """Feature maps [(C, H, W), ...] -> one uint8 picture: each layer's maps in rows of up to per_row
    cells (each map scaled to its own maximum), a blank row between layers."""
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


def classify(image28: np.ndarray, model_name: str, session_models: dict, show_maps: bool):
    """The shared tail of both inputs: probabilities, preview, and (if asked) which parts carry the answer
    and the feature maps, for a 28x28 image."""
    model, meta = get_model(model_name, session_models)
    x = to_input(image28, meta["normalization"])
    probs = predict_proba(model, x)[0]
    label = {name: float(p) for name, p in zip(meta["class_names"], probs)}
    evidence = maps = None
    if show_maps:
        evidence = heat_overlay(image28, occlusion(model, image28, meta["normalization"], int(probs.argmax())))
        maps = tile_maps(feature_maps(model, x))
    return label, enlarge(image28), evidence, maps, compare_models(image28, model_name, session_models), ""


def compare_models(image28: np.ndarray, model_name: str, session_models: dict) -> str:
    """One line: what every other model (shipped, and this session's) answers for the same picture."""
    answers = []
    for name in all_models(session_models):
        if model_key(name, session_models) == model_key(model_name, session_models):
            continue
        model, meta = get_model(name, session_models)
        probs = predict_proba(model, to_input(image28, meta["normalization"]))[0]
        top = int(probs.argmax())
        answers.append(f"{name}: **{meta['class_names'][top]}** {probs[top] * 100:.0f} %")
    return "Other models: " + " · ".join(answers) if answers else ""


def nothing(message: str):
    return None, None, None, None, "", message


def predict_sketch(value: dict | None, model_name: str, session_models: dict, show_maps: bool, fill: bool = False):
    """Handler for every stroke on the sketchpad."""
    value = value or {}
    try:
        image28 = preprocess_sketch(value.get("layers"), value.get("background"), fill=bool(fill))
    except BlankImageError as err:
        return nothing(f"✏️ {err}")
    return classify(image28, model_name, session_models, show_maps)


def predict_upload(path: str | None, model_name: str, session_models: dict, show_maps: bool):
    """Handler for an uploaded or pasted picture."""
    if not path:
        return nothing("")
    try:
        image28 = preprocess_image(path)
    except (ImageError, BlankImageError) as err:
        return nothing(f"⚠️ {str(err).replace(str(path), 'this picture')}")
    return classify(image28, model_name, session_models, show_maps)


def predict_current(value: dict | None, path: str | None, model_name: str, session_models: dict, show_maps: bool,
                    fill: bool = False):
    """Handler for a new model or a changed switch: re-predict the drawing, else the upload."""
    layers = (value or {}).get("layers") or []
    if any(isinstance(a, np.ndarray) and a.ndim == 3 and a.shape[2] == 4 and a[..., 3].any() for a in layers):
        return predict_sketch(value, model_name, session_models, show_maps, fill)
    return predict_upload(path, model_name, session_models, show_maps)


def load_own_checkpoint(path: str | None, session_models: dict, shipped: list[str]):
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
        return session_models, gr.update(), f"⚠️ {str(err).replace(str(path), filename)}"
    metrics = meta.get("metrics")
    accuracy = metrics.get("accuracy") if isinstance(metrics, dict) else None
    name = f"{filename} ({accuracy * 100:.1f} %)" if is_number(accuracy) else filename
    meta = {**meta, "loaded_from": filename}
    meta.pop("path", None)  # a server temp path, not for the student's eyes
    session_models = {**session_models, name: (model, meta)}
    return (session_models, gr.update(choices=[*shipped, *session_models], value=name),
            f"✅ Loaded **{name}**: a {meta['arch']} model, now picked (for you only).")


def describe_model(model_name: str, session_models: dict) -> str:
    return model_card(get_model(model_name, session_models)[1])


# On a phone the two columns stack, which would put the prediction below the upload box, the examples
# and the model picker, a long scroll away from the drawing. There, the columns' contents are laid out
# as one list instead: the sketchpad, its controls, then what the model answers and sees, then the rest.
PHONE_CSS = """
@media (max-width: 640px) {
  #predict-row { flex-direction: column; }
  #predict-row > .column { display: contents; }
  #predict-row > .column > * { order: 10; }
  #predict-row > .column > #sketchpad { order: 1; height: 440px !important; }  /* the canvas fits the width */
  #predict-row > .column > #draw-controls { order: 2; }
  #predict-row > .column > #predict-message { order: 3; }
  #predict-row > .column > #prediction { order: 3; }
  #predict-row > .column > #other-models { order: 3; }
  #predict-row > .column > #preview { order: 4; }
}
"""


def build_predict_tab(model_choices: list[str], session_models: gr.State) -> gr.Dropdown:
    """Lay out the Predict tab inside the current Blocks; returns the model picker."""
    with gr.Row(elem_id="predict-row"):
        with gr.Column(scale=3):
            sketch = gr.Sketchpad(
                label="Draw a garment", elem_id="sketchpad", canvas_size=(CANVAS, CANVAS), height=CANVAS + 140,
                brush=gr.Brush(default_size=BRUSH_RADIUS, colors=["#000000"], color_mode="fixed"),
                layers=False, transforms=(), type="numpy", image_mode="RGBA",
            )
            with gr.Row(elem_id="draw-controls"):
                fill = gr.Checkbox(False, label="Fill closed outlines (Fashion-MNIST garments are solid)",
                                   elem_id="fill")
                clear = gr.Button("Clear", elem_id="clear", size="sm")
            upload = gr.Image(label="…or upload / paste a photo", sources=["upload", "clipboard"],
                              type="filepath", image_mode=None, elem_id="upload", height=220)
            examples = sorted(str(p) for p in EXAMPLES_DIR.glob("*.png"))
            gr.Examples(examples, inputs=upload, label="Examples: Fashion-MNIST test images and drawings",
                        examples_per_page=12)
        with gr.Column(scale=2):
            model_pick = gr.Dropdown(model_choices, value=model_choices[0], label="Model", elem_id="model-pick")
            card = gr.Markdown(elem_id="model-card")
            load_button = gr.UploadButton("Load a checkpoint (.pt) from the Train tab or the command line",
                                          file_types=[".pt", ".pth"], type="filepath", size="sm",
                                          elem_id="load-checkpoint")
            load_message = gr.Markdown(elem_id="load-message")
            message = gr.Markdown(elem_id="predict-message")
            label = gr.Label(num_top_classes=3, label="Prediction", elem_id="prediction")
            others = gr.Markdown(elem_id="other-models")
            preview = gr.Image(label="What the model sees (28×28, enlarged)", height=PREVIEW + 40, format="png",
                               interactive=False, elem_id="preview")
            show_maps = gr.Checkbox(False, label="Show what the network sees: which parts make its answer, and its "
                                                "first feature maps", elem_id="show-maps")
            evidence = gr.Image(label="Erase which part, and it is less sure of its answer? (red = most)",
                                height=PREVIEW + 40, format="png", interactive=False, elem_id="evidence")
            maps = gr.Image(label="Feature maps: conv layer 1, then conv layer 2", interactive=False, format="png",
                            elem_id="feature-maps")
    outputs = [label, preview, evidence, maps, others, message]
    common = dict(outputs=outputs, show_progress="hidden", concurrency_id="predict", trigger_mode="always_last")
    sketch.change(predict_sketch, [sketch, model_pick, session_models, show_maps, fill], api_name="predict_sketch",
                  **common)
    upload.change(predict_upload, [upload, model_pick, session_models, show_maps], api_name="predict_upload",
                  **common)
    for trigger in (model_pick.change, show_maps.change, fill.change):
        trigger(predict_current, [sketch, upload, model_pick, session_models, show_maps, fill],
                api_visibility="private", **common)
    clear.click(lambda: (None, None, None, None, None, None, "", ""), None, [sketch, upload, *outputs],
                api_visibility="private", show_progress="hidden", queue=False)
    model_pick.change(describe_model, [model_pick, session_models], card, api_visibility="private",
                      show_progress="hidden")
    load_button.upload(lambda path, models: load_own_checkpoint(path, models, model_choices),
                       [load_button, session_models], [session_models, model_pick, load_message],
                       api_visibility="private", show_progress="hidden", concurrency_id="predict")
    return model_pick, card
