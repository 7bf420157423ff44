"""build_demo(): the Predict, Train and Class tabs in one gr.Blocks, with the per-session state they share."""

from __future__ import annotations

import gradio as gr

from demo.class_tab import build_class_tab
from demo.models import picker_entries
from demo.predict_tab import build_predict_tab
from demo.serving import configure_queue, configure_torch, release_session
from demo.train_tab import build_train_tab, forget_on_unload
from fmnist.checkpoint import CHECKPOINT_DIR, clean_stale_temp_files

# Gradio's default theme with the colours that axe-core measured below WCAG AA (4.5:1 for text) darkened:
# white on orange-500 (Start training, 2.8:1) and on red-500 (Stop, 3.8:1), and the subdued grey of the
# footer and the upload box's "- or -" (zinc-400 on white, 1.9:1).
THEME = gr.themes.Default().set(
    body_text_color_subdued="*neutral_600",  # 7.7:1 on white
    button_primary_background_fill="*primary_700",  # white on it: 5.2:1
    button_primary_background_fill_dark="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_hover_dark="*primary_800",
    button_cancel_background_fill="#b91c1c",  # red-700, white on it: 6.5:1
    button_cancel_background_fill_hover="#991b1b",
)

# The page's own CSS. On a phone Gradio keeps 32 pixels of empty margin on each side of the page, a sixth of a 390-pixel
# screen: the sketchpad and every figure shrank by it (the Train tab's curves to 0.74 of their design width, 9-pixel
# text). There the tabs take 22 pixels of each margin (Gradio scopes an app's CSS inside the page's padding, so the
# padding itself cannot be changed); the title above them keeps its margin. The pairs of charts side by side (the
# Train tab's loss and accuracy, the Class tab's accuracy and loss) then stack, each the screen's width: in the wider
# tab two of them would fit in a row at 180 pixels each (Gradio's inline min-width, 160 pixels, needs !important).
PAGE_CSS = """
@media (max-width: 640px) {
  #tabs { margin-left: -22px; margin-right: -22px; width: calc(100% + 44px); max-width: none; }
  #loss-plot, #acc-plot, #class-acc, #class-loss { min-width: 100% !important; }
}
"""

INTRO = """# Fashion-MNIST: draw it, and the network guesses
Draw a garment on the pad (or upload a photo) and watch a convolutional network classify it live —
then train your own in the **Train** tab with the batch size you choose, and compare your runs."""


def release_on_unload(request: gr.Request) -> None:
    """The student closed the tab: their session's models and runs are let go (demo.serving.release_session)."""
    release_session(request)


def build_demo() -> gr.Blocks:
    """The whole app: Predict and Train tabs; models trained in a session stay in that session."""
    configure_torch()
    clean_stale_temp_files(CHECKPOINT_DIR)
    with gr.Blocks(title="Fashion-MNIST: draw, predict, train") as demo:
        gr.Markdown(INTRO)
        session_models = gr.State({})
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Predict", id="predict"):
                picker = build_predict_tab(picker_entries({}), session_models)
            with gr.Tab("Train", id="train"):
                build_train_tab(session_models, picker, tabs)
            with gr.Tab("Class", id="class"):
                build_class_tab(tabs)
        demo.unload(forget_on_unload)
        demo.unload(release_on_unload)
    return configure_queue(demo)
