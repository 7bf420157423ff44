"""build_demo(): the Predict, Train and Class tabs in one gr.Blocks, with the per-session state they share."""

from __future__ import annotations

import gradio as gr

from demo.class_tab import build_class_tab
from demo.models import shipped_names
from demo.predict_tab import build_predict_tab, describe_model
from demo.serving import configure_queue, configure_torch
from demo.train_tab import build_train_tab, stop_on_unload
from fmnist.checkpoint import CHECKPOINT_DIR, clean_stale_temp_files

INTRO = """# Fashion-MNIST: draw it, and the network guesses
Draw a garment on the sketchpad (or upload a photo) and watch a convolutional network classify it live —
then train your own in the **Train** tab with the batch size you choose, and compare your runs."""

# Select the brush when the page opens, so a student can draw at once.
SELECT_BRUSH_JS = """
() => {
  const pick = () => {
    const pad = document.querySelector('#sketchpad');
    const btn = pad && pad.querySelector('button[aria-label="Brush"], button[title="Brush"], button[aria-label="Draw"]');
    if (btn) { btn.click(); return true; }
    return false;
  };
  let tries = 0;
  const timer = setInterval(() => { if (pick() || ++tries > 50) clearInterval(timer); }, 100);
}
"""


def build_demo() -> gr.Blocks:
    """The whole app: Predict and Train tabs; models trained in a session stay in that session."""
    configure_torch()
    clean_stale_temp_files(CHECKPOINT_DIR)
    shipped = shipped_names()
    with gr.Blocks(title="Fashion-MNIST: draw, predict, train") as demo:
        gr.Markdown(INTRO)
        session_models = gr.State({})
        with gr.Tabs() as tabs:
            with gr.Tab("Predict", id="predict"):
                picker, card = build_predict_tab(shipped, session_models)
            with gr.Tab("Train", id="train"):
                build_train_tab(session_models, picker, shipped)
            with gr.Tab("Class", id="class"):
                build_class_tab(tabs)
        demo.load(None, js=SELECT_BRUSH_JS)
        demo.load(describe_model, [picker, session_models], card, api_visibility="private")
        demo.unload(stop_on_unload)
    return configure_queue(demo)
