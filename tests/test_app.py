"""The Gradio app: handlers called directly with payloads as Gradio sends them, then the running app
through gradio_client (prediction, a streamed training that is stopped)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch

from conftest import HEIC_HEAD, real_data
from demo.models import model_card
from demo.predict_tab import (EXAMPLES_DIR, MAX_LOADED, load_own_checkpoint, predict_current, predict_drawing,
                              predict_upload)
from demo.sketch_canvas import pad_value
from fmnist.checkpoint import load_checkpoint, make_checkpoint, save_checkpoint
from demo.train_tab import augmentation_preview, train_session

EXAMPLES = sorted(EXAMPLES_DIR.glob("test-*.png"))
EXPECTED = {"ankle-boot": "Ankle boot", "trouser": "Trouser", "sandal": "Sandal", "sneaker": "Sneaker",
            "bag": "Bag", "t-shirt": "T-shirt/top"}


def stroke_layer(size: int = 448) -> np.ndarray:
    layer = np.zeros((size, size, 4), np.uint8)
    layer[30:430, 160:215, 3] = 255  # two trouser legs and a waistband, filled
    layer[30:430, 240:295, 3] = 255
    layer[30:90, 160:295, 3] = 255
    return layer


@pytest.mark.parametrize("value", [None, "", pad_value(np.zeros((448, 448, 4), np.uint8))])
def test_empty_canvas_asks_for_a_drawing(value):
    label, preview, evidence, maps, others, hint, message = predict_drawing(value, "default", {}, True)
    assert label is None and preview is None and others == hint == "" and "draw" in message.lower()


def test_feature_maps_take_at_most_four_rows_a_layer():
    from demo.predict_tab import tile_maps
    assert tile_maps([np.ones((24, 28, 28)), np.ones((24, 28, 28))]).shape == (6 * 60 + 14, 8 * 60)
    assert tile_maps([np.ones((48, 28, 28)), np.ones((48, 28, 28))]).shape == (8 * 60 + 14, 12 * 60)
    assert tile_maps([np.ones((6, 28, 28))]).shape == (60, 8 * 60)  # lenet's six in one row


def test_lone_dot_is_not_classified():
    layer = np.zeros((448, 448, 4), np.uint8)
    layer[200:228, 200:228, 3] = 255  # one click with the thick pen
    label, *_, others, hint, message = predict_drawing(pad_value(layer), "default", {}, False)
    assert others == ""
    assert label is None and "dot" in message


@pytest.mark.parametrize("where,place", [((400, 20), "top right"), ((10, 420), "bottom left"), ((205, 437), "bottom")])
def test_a_stray_mark_left_out_of_a_drawing_is_named_with_where_it_lies(where, place):
    """The answer says, after the prediction, that a mark away from the garment was left out and where it lies: the
    student sees why the 28x28 picture does not show it."""
    clean = np.zeros((448, 448, 4), np.uint8)  # trousers in the middle of the pad, room around them
    clean[100:380, 160:215, 3] = clean[100:380, 240:295, 3] = clean[100:150, 160:295, 3] = 255
    tapped = clean.copy()
    tapped[where[1]:where[1] + 8, where[0]:where[0] + 8, 3] = 255
    first = predict_drawing(pad_value(clean), "default", {}, False)
    label, preview, *_, message = predict_drawing(pad_value(tapped), "default", {}, False)
    assert "left out" not in first[-1]
    said = f"{first[-1].rstrip('.')}. A small mark away from the garment ({place} of the pad) was left out"
    assert message.startswith(said), message
    assert (preview == first[1]).all() and label == first[0]
    two = tapped.copy()
    two[20:28, 20:28, 3] = 255
    assert f"2 small marks away from the garment (top left and {place} of the pad) were left out" in \
        predict_drawing(pad_value(two), "default", {}, False)[-1]


def test_drawing_gets_probabilities_preview_grad_cam_and_feature_maps():
    label, preview, evidence, maps, others, hint, message = predict_drawing(pad_value(stroke_layer()), "default", {},
                                                                            True)
    assert message.startswith("Prediction for your drawing: Trouser, ") and max(label, key=label.get) == "Trouser"
    assert abs(sum(label.values()) - 1) < 1e-4
    assert preview.shape == (224, 224) and preview.max() == 255 and preview[0, 0] == 0
    evidence, maps = evidence["value"], maps["value"]
    assert evidence.shape == (224, 224, 3) and evidence.dtype == np.uint8
    width = load_checkpoint("default")[0].width  # the default cnn's two layers of `width` maps each
    per_row = max(8, -(-width // 4))  # at most 4 rows a layer, a gap between layers
    assert maps.shape == (2 * -(-width // per_row) * 60 + 14, per_row * 60)
    hidden = predict_drawing(pad_value(stroke_layer()), "default", {}, False)[2:4]
    assert [(h["value"], h["visible"]) for h in hidden] == [(None, False)] * 2  # no empty boxes while off
    assert others.startswith("Other models: lenet: **") and "cnn" not in others  # default and cnn: one model


def test_other_models_answer_for_the_same_picture_each_once():
    mine = {"my lenet": load_checkpoint("lenet")}
    others = predict_upload(str(EXAMPLES[1]), "cnn", mine, False)[4]
    assert others.startswith("Other models: lenet: **Trouser**") and others.count("·") == 1
    assert "my lenet: **Trouser**" in others and "default" not in others
    others = predict_upload(str(EXAMPLES[1]), "my lenet", mine, False)[4]
    assert "cnn (default): **Trouser**" in others and "lenet: **Trouser**" in others and "my lenet" not in others


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_test_images_are_recognised(path):
    label, *_ = predict_upload(str(path), "lenet", {}, False)
    expected = next(v for k, v in EXPECTED.items() if path.stem.endswith(k))
    assert max(label, key=label.get) == expected


def test_bad_upload_is_a_friendly_message(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    label, preview, *_, message = predict_upload(str(bad), "default", {}, False)
    assert label is None and preview is None and "not a picture the app can read" in message
    assert str(tmp_path) not in message



def test_an_upload_s_problem_is_told_from_what_went_wrong_not_from_the_message_s_words():
    """upload_problem answers after ImageError.problem: a message that happens to say "too large" or "not recognised"
    (a corrupt file's decoder detail) is not taken for one, and one worded otherwise still is."""
    from demo.predict_tab import upload_problem
    from fmnist.preprocess import TOO_LARGE, UNRECOGNISED, ImageError

    path = "/tmp/gradio/abc/photo.png"
    told = {
        ImageError(f"{path}: image file is corrupt or truncated (chunk too large)"): "cannot be read: image file is "
                                                                                      "corrupt or truncated",
        ImageError(f"{path}: image file is corrupt or truncated (tag not recognised)"): "cannot be read",
        ImageError(f"{path}: 20000x20000 pixels exceed the limit", problem=TOO_LARGE): "too large for the app: 20000x",
        ImageError(f"{path}: no picture format", problem=UNRECOGNISED): "not a picture the app can read",
    }
    for err, words in told.items():
        message = upload_problem(err, path)
        assert words in message and path not in message, (str(err), message)

# The first bytes of files a student has at hand that are pictures to them but not to PIL: an iPhone's HEIC photo (its
# ftyp box as the camera writes it), a PDF, an SVG drawing (after an XML prolog and a comment), a saved web page.
NOT_PICTURES = {"IMG_0042.HEIC": HEIC_HEAD + bytes(200),
                "shirt.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
                "coat.svg": b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- Inkscape -->\n<svg width="10"></svg>',
                "dress.png": b"<!DOCTYPE html>\n<html><head><title>Images</title>"}
SAYS = {"IMG_0042.HEIC": ["HEIC photo", "iPhone", "as a JPEG"], "shirt.pdf": ["a PDF document", "PNG, JPEG"],
        "coat.svg": ["an SVG drawing", "PNG, JPEG"], "dress.png": ["a web page", "PNG, JPEG"]}


@pytest.mark.parametrize("name", NOT_PICTURES)
def test_a_file_that_is_a_picture_to_a_student_says_what_it_is(tmp_path, name):
    """An HEIC photo off an iPhone, a PDF, an SVG or a saved web page is named for what it is, with what to upload
    instead, not "is it really a PNG?" (which an iPhone photo is not, and which tells its owner nothing)."""
    path = tmp_path / name
    path.write_bytes(NOT_PICTURES[name])
    label, preview, *_, message = predict_upload(str(path), "default", {}, False)
    assert label is None and preview is None
    assert all(words in message for words in SAYS[name]), message
    assert "is it really" not in message and str(tmp_path) not in message


def test_model_change_repredicts_the_drawing_first():
    label, *_ = predict_current(pad_value(stroke_layer()), str(EXAMPLES[0]), "lenet", {}, False)
    assert max(label, key=label.get) == "Trouser"


def test_an_unknown_model_name_is_refused_with_the_names_there_are():
    import gradio as gr

    with pytest.raises(gr.Error, match=r"no model called 'no-such-model'; pick one of: default, lenet\."):
        predict_upload(str(EXAMPLES[0]), "no-such-model", {}, False)


def test_a_loaded_checkpoint_joins_the_session_and_predicts(tmp_path):
    model, _ = load_checkpoint("lenet")
    path = save_checkpoint(make_checkpoint(model, "lenet", metrics={"accuracy": 0.9083}), tmp_path / "mine.pt")
    before = {}
    models, picker, message = load_own_checkpoint(str(path), before)
    assert before == {} and list(models) == ["mine.pt (90.8 %)"] and message.startswith("✅")
    assert picker["value"] == "mine.pt (90.8 %)" and picker["choices"] == [("cnn (default)", "default"), ("lenet", "lenet"),
                                                                  ("mine.pt (90.8 %)", "mine.pt (90.8 %)")]
    label, *_ = predict_upload(str(EXAMPLES[0]), "mine.pt (90.8 %)", models, False)
    assert label == predict_upload(str(EXAMPLES[0]), "lenet", {}, False)[0]  # the same weights
    assert "loaded from mine.pt" in model_card(models["mine.pt (90.8 %)"][1]) and str(tmp_path) not in message


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really a zip", "state_dict", "wrong_arch"])
def test_a_bad_checkpoint_changes_nothing_and_says_why(tmp_path, content):
    path = tmp_path / "upload" / "model.pt"
    path.parent.mkdir()
    if content == "state_dict":
        torch.save(load_checkpoint("lenet")[0].state_dict(), path)
    elif content == "wrong_arch":  # the cnn's weights labelled as a lenet
        model, _ = load_checkpoint("cnn")
        torch.save({**make_checkpoint(model, "cnn"), "arch": "lenet"}, path)
    else:
        path.write_bytes(content)
    session = {"#1 lenet bs100 (80.0 %)": load_checkpoint("lenet")}
    models, picker, message = load_own_checkpoint(str(path), session)
    assert models is session and picker == gr.update() and message.startswith("⚠️ model.pt: ")
    assert str(tmp_path) not in message and "\n" not in message
    why = {b"": "(the file is empty)", b"PK\x03\x04 not really a zip": "(the file is cut short or damaged"}
    if content in why:  # the reason in words, not PyTorch's
        assert why[content] in message and "miniz" not in message


def test_loaded_checkpoints_per_session_are_capped(tmp_path):
    model, _ = load_checkpoint("lenet")
    models = {}
    for i in range(MAX_LOADED + 1):
        path = save_checkpoint(make_checkpoint(model, "lenet"), tmp_path / f"m{i}.pt")
        models, _, message = load_own_checkpoint(str(path), models)
    assert len(models) == MAX_LOADED and "already loaded" in message


def test_model_card_ignores_metadata_of_the_wrong_type():
    card = model_card({"arch": "lenet", "metrics": {"accuracy": "high", "sketch_accuracy": {"outline": None}},
                       "train_config": ["not", "a", "dict"], "arch_options": {"width": "wide"}})
    assert card == "**lenet**"


@pytest.mark.parametrize("done, planned, words", [
    (1, 1, "batch 32, 1 epoch, lr"), (25, 25, "batch 32, 25 epochs, lr"),
    (1, 5, "batch 32, 1 of 5 epochs, lr"),  # stopped early
    (None, 3, "batch 32, 3 epochs, lr"), ("many", None, "batch 32, ? epochs, lr")])
def test_model_card_says_how_long_it_trained_in_words(done, planned, words):
    metrics = {} if done is None else {"epochs_completed": done}
    card = model_card({"arch": "lenet", "train_config": {"batch_size": 32, "epochs": planned, "lr": 0.001},
                       "metrics": metrics})
    assert words in card, card


def test_model_card_names_a_wide_or_deep_cnns_shape():
    assert model_card({"arch": "cnn", "arch_options": {"width": 48}}) == "**cnn** (width 48)"
    assert model_card({"arch": "cnn", "arch_options": {"width": 48, "stages": 3}}) == "**cnn** (width 48, 3 stages)"
    assert model_card({"arch": "cnn", "arch_options": {"stages": "3"}}) == "**cnn**"
    assert model_card({"arch": "cnn", "arch_options": {}}) == "**cnn**"


def test_model_card_gives_drawing_figures_to_one_decimal_as_the_readme_does():
    """A target of 88 % must not look met by 87.5 %: the card shows the figure `evaluate` prints."""
    card = model_card({"arch": "cnn", "metrics": {"sketch_accuracy": {"outline": 0.875, "filled": 0.8795}}})
    assert card == "**cnn** · drawings: outline 87.5 %, filled 87.9 %"


def test_model_card_shows_the_design_columns_class_balanced():
    card = model_card({"arch": "cnn", "metrics": {
        "sketch_accuracy": {"outline": 0.81, "designs": 0.70, "coloured": 0.66, "printed": 0.75},
        "sketch_balanced_accuracy": {"outline": 0.80, "designs": 0.64, "coloured": 0.61, "printed": 0.72}}})
    assert card == "**cnn** · drawings: outline 81.0 %, designs 64.0 %, coloured 61.0 %, printed 72.0 %"
    assert "designs 70.0 %" in model_card({"arch": "cnn", "metrics": {"sketch_accuracy": {"designs": 0.70},
                                                                    "sketch_balanced_accuracy": "bad"}})


FORM = dict(batch_size=100, epochs=1, lr=0.001, model="lenet", seed=0, images=60000, augment=False)


def train(session: str, **settings) -> list[dict]:
    """A run as the Start button makes it: the form's values checked, then train_session to its end."""
    from demo import stopping
    from demo.train_tab import Session, settings_problems

    cfg, problems = settings_problems({**FORM, **settings})
    assert not problems, problems
    token = stopping.new_token(session)
    try:
        return list(train_session(cfg, Session(session), token))
    finally:
        stopping.release(session, token)


@pytest.mark.parametrize("field, value, words", [
    ("batch_size", 0, "Batch size must be a whole number from 1 to 60,000."),
    ("batch_size", -5, "Batch size must be a whole number from 1 to 60,000."),
    ("batch_size", 60001, "Batch size must be a whole number from 1 to 60,000."),
    ("batch_size", 2.5, "Batch size must be a whole number from 1 to 60,000."),
    ("batch_size", None, "Batch size must be a whole number from 1 to 60,000."),
    ("batch_size", "ten", "Batch size must be a whole number from 1 to 60,000."),
    ("lr", 0, "Learning rate must be between 0.000001 and 1"),
    ("lr", 5, "Learning rate must be between 0.000001 and 1"),
    ("lr", -0.01, "Learning rate must be between 0.000001 and 1"),
    ("lr", float("nan"), "Learning rate must be between 0.000001 and 1"),
    ("lr", None, "Learning rate must be between 0.000001 and 1"),
    ("epochs", 0, "Epochs must be a whole number from 1 to 50."),
    ("epochs", 1e9, "Epochs must be a whole number from 1 to 50."),
    ("seed", -1, "Seed must be a whole number from 0 to"),
    ("images", 500, "Training images must be a whole number from 1,000 to 60,000."),
])
def test_impossible_settings_are_explained_next_to_their_field(field, value, words):
    from demo.train_tab import settings_problems

    cfg, problems = settings_problems({**FORM, field: value})
    assert cfg is None and list(problems) == [field] and problems[field].startswith(words), problems


@pytest.mark.parametrize("key, before, now, words", [
    ("epochs", 0, 1, "ℹ️ Epochs go from 1 to 50, so the slider set 1 in place of 0."),
    ("epochs", 51, 50, "ℹ️ Epochs go from 1 to 50, so the slider set 50 in place of 51."),
    ("epochs", -2.5, 1, "ℹ️ Epochs go from 1 to 50, so the slider set 1 in place of -2.5."),
    ("images", 500, 1000, "ℹ️ Training images go from 1,000 to 60,000, so the slider set 1,000 in place of 500."),
    ("images", 1e7, 60000, "ℹ️ Training images go from 1,000 to 60,000, so the slider set 60,000 in place of 10,000,000."),
    ("epochs", 3, 1, ""),  # the student moved it themselves
    ("epochs", 0, 7, ""),  # typed over, not moved to the nearest end
    ("epochs", 60, 1, ""),  # the far end: not Gradio's clamp
    ("epochs", None, 1, ""), ("epochs", float("nan"), 1, ""), ("epochs", True, 1, ""),
])
def test_a_slider_moved_into_its_range_says_so(key, before, now, words):
    from demo.train_tab import moved_into_range

    assert moved_into_range(key, before, now) == words


@pytest.mark.parametrize("batch, images", [(100, 2000), (256, 1000), (32, 60000), (60000, 60000), (1, 1000)])
def test_a_short_run_s_loss_is_a_curve_not_a_dot(batch, images):
    """At least 8 loss points an epoch where the epoch has 8 steps (2,000 images in batches of 100 gave one dot),
    and never more than 20 steps between two (Stop is felt within a second)."""
    from demo.train_tab import settings_problems

    cfg, problems = settings_problems({**FORM, "batch_size": float(batch), "images": images})
    steps = -(-images // batch)
    assert problems == {} and 1 <= cfg.log_every <= 20
    assert steps // cfg.log_every >= min(8, steps)


def test_good_settings_make_the_config_and_say_what_the_run_costs():
    from demo.train_tab import cost_text, settings_problems

    cfg, problems = settings_problems({**FORM, "batch_size": 32.0, "images": 6000, "augment": True})
    assert problems == {} and (cfg.batch_size, cfg.subset, cfg.augment, cfg.log_every) == (32, 6000, True, 20)
    assert cost_text(cfg).startswith("⏱ About ") and "on this server's CPU" in cost_text(cfg)


def test_the_announced_wait_counts_the_measuring_after_the_run(monkeypatch):
    """A student waits for the results, not only the steps: after training the Train tab measures the model on the
    CPU (test set, drawings, scribbles: 8 s for its cnn on a 2-core Xeon), which the estimate left out ("About
    18 s" for a run whose results came after 22 s). The GPU time asked of ZeroGPU and the queue's slot still count
    the training alone: the measuring happens outside both."""
    from dataclasses import replace

    from demo import train_tab
    from demo.train_tab import cost_text, settings_problems
    from fmnist import estimate

    monkeypatch.setattr(train_tab, "training_device", lambda: "cpu")
    for model, least in (("cnn", 5.0), ("lenet", 0.1)):
        cfg, _ = settings_problems({**FORM, "model": model, "images": 6000, "epochs": 2})
        training = estimate.estimate_seconds(cfg, "cpu")
        wait = estimate.wait_seconds(cfg, "cpu")
        assert wait - training >= least, (model, training, wait)
        assert f"About **{train_tab.fmt_seconds(wait)}**" in cost_text(cfg)
        on_gpu = estimate.wait_seconds(cfg, "cuda") - estimate.estimate_seconds(cfg, "cuda")
        assert on_gpu == pytest.approx(wait - training)  # the measuring is on the CPU wherever the model trained
    assert estimate.gpu_request_seconds(cfg, 10_000) == int(-(-estimate.estimate_seconds(cfg, "cuda")
                                                              * estimate.MARGIN // 1))
    big = replace(cfg, model="cnn", subset=None, epochs=3)
    assert cost_text(big) != cost_text(replace(big, model="lenet"))


def test_no_dataset_gives_how_to_get_it(isolated, monkeypatch):
    from demo import training

    training.dataset.cache_clear()
    try:
        updates = train("s")
    finally:
        training.dataset.cache_clear()
    assert len(updates) == 1 and "apt-get install dataset-fashion-mnist" in updates[0]["status"]
    assert "Traceback" not in updates[0]["status"]


@pytest.mark.slow
@real_data
def test_training_streams_and_registers_a_session_model():
    updates = train("s-train", epochs=2, images=2000)
    kinds = [set(u) for u in updates]
    assert sum("loss_plot" in k for k in kinds) >= 3
    samples = [u["samples"] for u in updates if "samples" in u]  # the untrained net's guesses, then one grid an epoch
    assert [f.get_suptitle().split(":")[0] for f in samples] == [
        "Sample test images before training", "Sample test images after epoch 1", "Sample test images after epoch 2"]
    # everything the run draws as it goes is there from its first picture on: nothing appears above another later
    assert {"loss_plot", "acc_plot", "samples", "filters"} <= next(k for k in kinds if "loss_plot" in k)
    final = updates[-1]
    assert final["status"].startswith("✅ Finished")
    (name, (model, meta)), = final["models_state"].items()
    assert meta["metrics"]["epochs_completed"] == 2 and (name, name) in final["model_picker"]["choices"]
    assert "value" not in final["model_picker"] and final["offer_state"] == name  # offered, not switched to
    assert set(meta["metrics"]["sketch_drawn_accuracy"]) == {"outline", "outline+fill", "filled"}  # as the CLI's
    assert Path(final["checkpoint_file"]).stat().st_size > 100_000
    assert len(final["runs_state"]) == 1 and final["results"].data.shape[0] == 1
    # The run is in the table from its start: training (then each epoch's figures), measuring, then its own row.
    tables = [u["results"].data for u in updates if "results" in u]
    running = [t.iloc[-1].to_dict() for t in tables[:-1]]
    assert [(r["run"], r["epochs"], r["status"]) for r in running] == [
        ("#1 lenet bs100", 0, "training"), ("#1 lenet bs100", 1, "training"), ("#1 lenet bs100", 2, "training"),
        ("#1 lenet bs100", 2, "measuring")]
    assert np.isnan(running[0]["test acc %"]) and 10 < running[1]["test acc %"] < 100
    assert running[2]["test acc %"] == round(final["runs_state"][0].acc[1][1], 2), running[2]  # epoch 2's
    assert all(len(t) == 1 for t in tables) and tables[-1].iloc[0]["status"] == "finished"
    label, *_ = predict_upload(str(EXAMPLES[1]), name, final["models_state"], False)
    assert label is not None
    sketch = meta["metrics"]["sketch_accuracy"]  # measured on the sketch set, shown in the card and the table
    assert set(sketch) == {"outline", "outline+fill", "filled", "designs", "coloured", "printed"}
    assert "drawings: outline" in model_card(meta)
    assert final["results"].data["filled %"].iloc[0] == round(sketch["filled"] * 100, 1)
    assert f"drawings: outlines {sketch['outline'] * 100:.1f} %, filled {sketch['filled'] * 100:.1f} %" in final["status"]
    titles = [ax.get_title() for ax in final["mistakes"].axes]  # the surest mistakes, with their probability
    assert len(titles) == 8 and all("\ntrue: " in t and " %)" in t for t in titles)
    # The first layer's filters: random at the start, then after each epoch and at the end; they change.
    filters = [u["filters"] for u in updates if "filters" in u]
    assert [f.get_suptitle().split("\n")[0] for f in filters] == [
        "The first layer's 6 filters (5×5) " + when
        for when in ("at the start (random)", "after epoch 1", "after epoch 2", "after #1 lenet bs100's training")]
    first, last = (f.axes[0].get_images()[0].get_array() for f in (filters[0], filters[-1]))
    assert not np.allclose(first, last)


@real_data
def test_ticking_augmentation_shows_what_it_does_to_eight_training_images():
    shown = augmentation_preview(True, 3)
    assert shown["visible"] is True and len(shown["value"].axes) == 16  # 8 pairs: stored, trained on
    pairs = [[ax.get_images()[0].get_array() for ax in shown["value"].axes[i:i + 2]] for i in range(0, 16, 2)]
    assert any(not np.allclose(stored / 255, trained) for stored, trained in pairs)
    other = augmentation_preview(True, 4)["value"].axes[0].get_images()[0].get_array()
    assert not np.array_equal(other, pairs[0][0])  # another seed, other images
    assert augmentation_preview(False, 3)["visible"] is False
    assert augmentation_preview(True, "ten")["visible"] is False  # a seed being typed: nothing, no error


@pytest.mark.slow
@real_data
def test_sketch_style_augmentation_teaches_a_model_drawings():
    from fmnist import augment

    augment.dataset_silhouettes.forget()
    plain = train("s-aug0", images=6000)[-1]
    updates = train("s-aug1", images=6000, augment=True)
    assert "silhouettes of all training images" in updates[0]["status"]  # the first augmented run says why it waits
    aug = updates[-1]
    from demo import stopping
    from demo.train_tab import Session, settings_problems

    again = train_session(settings_problems({**FORM, "images": 6000, "augment": True})[0], Session("s-aug2"),
                          stopping.new_token("s-aug2"))
    assert "silhouettes" not in next(again)["status"]  # computed once per server
    again.close()
    (aug_name, (_, aug_meta)), = aug["models_state"].items()
    assert aug_name.startswith("#1 lenet bs100 aug") and aug_meta["train_config"]["augment"] is True
    plain_meta = next(iter(plain["models_state"].values()))[1]
    assert plain_meta["train_config"]["augment"] is False
    got, base = aug_meta["metrics"]["sketch_accuracy"], plain_meta["metrics"]["sketch_accuracy"]
    assert got["outline"] > base["outline"] + 0.1  # one epoch on 6,000 images: 29 % against 14 %


@pytest.mark.slow
@real_data
def test_a_stopped_run_adds_its_kept_model_to_the_accuracy_curve():
    from demo import stopping
    from demo.train_tab import Session, settings_problems

    updates = []
    token = stopping.new_token("s-stop")
    cfg = settings_problems({**FORM, "batch_size": 10, "epochs": 3, "images": 6000})[0]  # 600 steps an epoch
    for update in train_session(cfg, Session("s-stop"), token):
        updates.append(update)
        if "Epoch 2/3" in update.get("status", "") and "img/s" in update["status"]:  # stop during the second
            stopping.request_stop("s-stop")
    final = updates[-1]
    assert final["status"].startswith("⏹ Stopped early")
    (line,) = final["acc_plot"].axes[0].lines
    epochs, accuracy = line.get_xdata(), line.get_ydata()
    assert epochs[0] == 1 and 1 < epochs[-1] < 2 and line.get_marker() == "o"  # two dots and a line
    assert accuracy[-1] == pytest.approx(final["runs_state"][0].accuracy * 100)


@pytest.fixture(scope="module")
def served():
    """The app launched in this process on a free port, with a gradio_client connected to it."""
    from gradio_client import Client

    import app
    from demo.serving import launch_kwargs

    settings = {**launch_kwargs(), "server_name": "127.0.0.1", "server_port": None}  # as `python app.py`, any port
    app.demo.launch(prevent_thread_lock=True, quiet=True, **settings)
    try:
        yield app.demo, Client(app.demo.local_url, verbose=False)
    finally:
        app.demo.close()


def test_client_predicts_test_images(served):
    from gradio_client import handle_file

    _, client = served
    for path in EXAMPLES[:3]:
        label, preview, evidence, maps, others, hint, message = client.predict(handle_file(str(path)),
                                                                               api_name="/predict_upload")
        expected = next(v for k, v in EXPECTED.items() if path.stem.endswith(k))
        assert label["label"] == expected and Path(preview).exists()


@pytest.mark.slow
@real_data
def test_client_training_streams_and_stops(served):
    _, client = served
    job = client.submit(100, 20, 0.001, "lenet", 0, 60000, False, api_name="/train")
    statuses = []
    deadline = time.time() + 120
    while time.time() < deadline and sum("step" in s for s in statuses) < 3:
        statuses = [out[0] for out in job.outputs() if isinstance(out, (list, tuple)) and out[0]]
        time.sleep(0.2)
    assert sum("step" in s for s in statuses) >= 3, statuses
    asked = time.time()
    client.predict(api_name="/stop")
    while not job.done() and time.time() - asked < 30:
        time.sleep(0.1)
    final_status = job.outputs()[-1][0]
    assert job.done() and "Stopped early" in final_status, final_status
    assert time.time() - asked < 5  # stop after the current steps, then the final evaluation and save


@pytest.mark.slow
@real_data
def test_client_runs_the_seed_experiment(served):
    _, client = served
    job = client.submit(100, 1, 0.001, "lenet", 0, 1000, False, api_name="/sweep")
    deadline = time.time() + 240
    while not job.done() and time.time() < deadline:
        time.sleep(0.2)
    outputs = job.outputs()[-1]
    assert job.done() and outputs[0].startswith("✅ Finished: **#") and " lenet bs256 " in outputs[0], outputs[0]
    table = outputs[4]  # the results table: this session's earlier runs, then one row per batch size
    assert [row[1] for row in table["data"]][-4:] == [32, 64, 100, 256]


@pytest.mark.slow
@real_data
def test_a_second_request_while_one_trains_is_refused_and_stop_still_reaches_the_first(served):
    """One page, one run at a time: the seed's experiment asked for while a run trains is refused at once in words
    (it used to queue behind it and take over Stop, leaving the first run unstoppable)."""
    from demo.train_tab import BUSY_TEXT

    _, client = served
    job = client.submit(100, 20, 0.001, "lenet", 0, 60000, False, api_name="/train")
    deadline = time.time() + 120
    while time.time() < deadline and not any("step" in (out[0] or "") for out in job.outputs()):
        time.sleep(0.2)
    second = client.submit(100, 1, 0.001, "lenet", 0, 1000, False, api_name="/sweep")
    asked = time.time()
    while not second.done() and time.time() - asked < 15:
        time.sleep(0.1)
    try:
        assert second.done(), "the second request waits instead of being refused"
        assert BUSY_TEXT in second.outputs()[-1], second.outputs()[-1]
    finally:
        client.predict(api_name="/stop")
    while not job.done() and time.time() - asked < 60:
        time.sleep(0.1)
    assert job.done() and "Stopped early" in job.outputs()[-1][0], job.outputs()[-1][0]


def _get(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        return urllib.request.urlopen(url, timeout=10).status
    except urllib.error.HTTPError as err:
        return err.code


def test_server_files_are_not_exposed(served):
    demo, _ = served
    root = Path(__file__).resolve().parent.parent
    base = demo.local_url.rstrip("/")
    for secret in (root / "checkpoints" / "lenet.pt", root / ".ci" / "run", root / "app.py", Path("/etc/passwd")):
        assert _get(f"{base}/gradio_api/file={secret}") in (403, 404), secret
    assert _get(f"{base}/monitoring") in (403, 404)


def test_upload_size_is_limited(served):
    import urllib.error
    import urllib.request
    import uuid

    demo, _ = served
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + b"\0" * (11 * 2**20) + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(demo.local_url.rstrip("/") + "/gradio_api/upload", data=body, method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 413


@pytest.mark.slow
def test_memory_does_not_grow_with_sessions(served):
    """The same batch of requests from 20 clients, twice: the second adds no more than allocator noise."""
    import os

    import httpx

    from demo.loadtest import call, rss_mb, upload

    demo, _ = served
    pictures = [str(p) for p in EXAMPLES]

    def batch() -> None:
        for _ in range(20):
            with httpx.Client(base_url=demo.local_url, timeout=60) as http:
                for path in pictures:
                    label = call(http, "predict_upload", [upload(http, path), "default", False])[0]
                    assert label["label"]

    batch()  # warm-up: caches, lazy imports
    first = rss_mb(os.getpid())
    batch()
    second = rss_mb(os.getpid())
    # A leak that matters keeps something per request (a decoded upload or its preview, 0.5-2.5 MB), so 200
    # requests add 100-500 MB; a ratio bound (it was 10 %) would move with torch's and gradio's own size,
    # and the allocator and this test's clients vary by a few tens of MB between runs.
    assert second - first < 100, (first, second)


class FixedAnswer(torch.nn.Module):
    """A model that answers every picture with the same probabilities (to put the app in each state)."""

    def __init__(self, probs: list[float]) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1))
        self.register_buffer("logits", torch.tensor(probs).log())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(x), -1)


def fixed_session(probs: list[float]) -> dict:
    """A session holding one FixedAnswer model, "fixed"."""
    from fmnist.data import CLASS_NAMES

    return {"fixed": (FixedAnswer(probs).eval(), {"normalization": {"mean": 0.286, "std": 0.353},
                                                "class_names": list(CLASS_NAMES), "arch": "fixed"})}


@pytest.mark.parametrize("probs,status,other", [
    ([0.05, 0.02, 0.03, 0.02, 0.03, 0.02, 0.78, 0.02, 0.02, 0.01], "Prediction for your drawing: Shirt, 78 %",
     "fixed: **Shirt** 78 %"),
    ([0.40, 0.01, 0.03, 0.02, 0.05, 0.01, 0.44, 0.01, 0.02, 0.01], "Not sure: Shirt or T-shirt/top? (44 % / 40 %",
     "fixed: not sure, **Shirt** or **T-shirt/top**? (44 / 40 %)"),
    ([0.08, 0.01, 0.32, 0.02, 0.48, 0.01, 0.03, 0.01, 0.02, 0.02], "Not sure: Coat or Pullover? (48 % / 32 %",
     "fixed: not sure, **Coat** or **Pullover**? (48 / 32 %)"),
    ([0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.05, 0.15], "The network does not recognise a garment",
     "fixed: no garment (best guess Ankle boot, 15 %)"),
])
def test_an_unsure_answer_says_so_in_words_instead_of_one_confident_label(probs, status, other):
    """The main answer and, judged the same way, the same model's line among the other models' answers (a model
    that does not recognise a garment was shown as "**Ankle boot** 15 %" there)."""
    session = fixed_session(probs)
    out = predict_drawing(pad_value(stroke_layer()), "fixed", session, False)
    assert status in out[-1]
    assert (out[0] is None) == status.startswith("The network does not")  # no bars for "like no garment"
    others = predict_drawing(pad_value(stroke_layer()), "default", session, False)[4]
    assert other in others.split(" · ") or "Other models: " + other in others.split(" · ")


def test_the_other_models_line_stays_short_with_a_session_full_of_models():
    """A student who trained a dozen models: the shipped ones and the newest of theirs are named, the older ones are
    counted by their answer (the line grew by one entry a model, to five lines on a phone)."""
    sure, unsure, unlike = ([0.02] * 6 + [0.82] + [0.02] * 3, [0.40, 0.01, 0.03, 0.02, 0.05, 0.01, 0.44, 0.01, 0.02, 0.01],
                            [0.10] * 8 + [0.05, 0.15])
    session = {}
    for i, probs in enumerate([unlike, unsure, sure, sure, sure, sure, unsure]):  # oldest first
        session[f"run {i}"] = fixed_session(probs)["fixed"]
    others = predict_drawing(pad_value(stroke_layer()), "default", session, False)[4]
    named = others.removeprefix("Other models: ").split(" · ")
    assert [n.split(":")[0] for n in named] == ["lenet", "run 6", "run 5", "5 older models of yours"]
    assert named[1] == "run 6: not sure, **Shirt** or **T-shirt/top**? (44 / 40 %)" and "run 5: **Shirt** 82 %" in named
    assert named[3] == "5 older models of yours: 3 **Shirt**, 1 not sure, 1 no garment"
    # the one being asked is left out, wherever it is; a session of two is named in full
    others = predict_drawing(pad_value(stroke_layer()), "run 6", session, False)[4]
    assert [n.split(":")[0] for n in others.removeprefix("Other models: ").split(" · ")] == \
        ["cnn (default)", "lenet", "run 5", "5 older models of yours"]
    two = {k: session[k] for k in ("run 0", "run 1")}
    others = predict_drawing(pad_value(stroke_layer()), "lenet", two, False)[4]
    assert [n.split(":")[0] for n in others.removeprefix("Other models: ").split(" · ")] == \
        ["cnn (default)", "run 1", "run 0"]


def test_a_top_drawn_as_a_bare_shape_gets_told_what_tells_tops_apart(tmp_path):
    """A solid long-sleeved shape that the model calls Shirt at 60 %: "not sure" and the hint, whatever the model;
    the same with a zip rubbed out of it, or the same picture uploaded as a photo: the answer as it is, no hint. The
    hint is shown under the bars (its own output), and is in the status line for screen readers only."""
    from PIL import Image
    from demo.predict_tab import BARE_TOP_HINT, FILLED_OVER, predict_upload

    from test_preprocess import LONG_TOP, pad

    def silhouette(d):
        d.polygon(LONG_TOP, fill=255)

    def zipped(d):
        d.polygon(LONG_TOP, fill=255)
        d.line([(224, 60), (224, 400)], fill=0, width=20)

    def shown(status: str) -> str:  # the status line as the page shows it (the screen readers' part left out)
        return re.sub(r' <span class="sr-only">.*</span>$', "", status)

    shirt = [0.05, 0.01, 0.2, 0.02, 0.05, 0.01, 0.6, 0.02, 0.03, 0.01]
    *_, hint, bare = predict_drawing(pad_value(pad(silhouette)), "fixed", fixed_session(shirt), False)
    assert hint == BARE_TOP_HINT and shown(bare) == "Not sure: Shirt or Pullover? (60 % / 20 %, your drawing)."
    assert bare.endswith(f'<span class="sr-only">{BARE_TOP_HINT}</span>')
    *_, hint, filled = predict_drawing(pad_value(pad(silhouette)), "fixed", fixed_session(shirt), False, fill=True)
    assert hint == f"{BARE_TOP_HINT} {FILLED_OVER}"  # the fill, not the student, made it bare
    assert filled.endswith(f'<span class="sr-only">{BARE_TOP_HINT} {FILLED_OVER}</span>')
    others = predict_drawing(pad_value(pad(silhouette)), "default", fixed_session(shirt), False)[4]
    assert "fixed: not sure, **Shirt** or **Pullover**?" in others  # judged the same among the other models
    *_, hint, with_zip = predict_drawing(pad_value(pad(zipped)), "fixed", fixed_session(shirt), False)
    assert with_zip == "Prediction for your drawing: Shirt, 60 %" and hint == ""
    photo = tmp_path / "top.png"
    Image.fromarray(255 - pad(silhouette)[..., 3]).save(photo)  # dark garment on white, as photographed
    *_, hint, uploaded = predict_upload(str(photo), "fixed", fixed_session(shirt), False)
    assert uploaded == "Prediction for the photo: Shirt, 60 %" and hint == ""
    trousers = [0.05, 0.6, 0.2, 0.02, 0.05, 0.01, 0.02, 0.02, 0.02, 0.01]  # only tops look alike
    *_, hint, bare_trousers = predict_drawing(pad_value(pad(silhouette)), "fixed", fixed_session(trousers), False)
    assert bare_trousers == "Prediction for your drawing: Trouser, 60 %" and hint == ""


def test_model_card_counts_the_epochs_of_the_model_a_run_started_from():
    meta = {"arch": "cnn", "train_config": {"batch_size": 128, "epochs": 10, "lr": 0.0005},
            "metrics": {"epochs_completed": 10}, "started_from": {"epochs_completed": 100}}
    assert "batch 128, 10 epochs more after the 100 of the model it started from, lr 0.0005" in model_card(meta)
    for odd in ({"epochs_completed": "100"}, "cnn.pt", None):  # a loaded file's metadata is not trusted
        assert "more after" not in model_card({**meta, "started_from": odd})
    # a run that went on from a model that had itself gone on from another: the whole chain's epochs
    chain = {**meta, "started_from": {"epochs_completed": 12, "started_from": {"epochs_completed": 100}}}
    assert "10 epochs more after the 112 of the model it started from" in model_card(chain)
    broken = {**meta, "started_from": {"epochs_completed": 12, "started_from": {"epochs_completed": None}}}
    assert "more after" not in model_card(broken)


def test_the_model_card_is_written_with_the_page_not_after_it():
    """The default's card is part of the page Gradio sends (filled in by a load event, it arrived after the pad was
    ready and moved the answer area down; `test_browser` watches for that), and says the same as the picker's."""
    from demo.layout import build_demo
    from demo.predict_tab import describe_model

    demo = build_demo()
    card = next(c for c in demo.config["components"] if c.get("props", {}).get("elem_id") == "model-card")
    assert card["props"]["value"] == describe_model("default", {})
    assert card["props"]["value"].startswith("**cnn** (")


def test_a_fresh_train_tab_shows_no_empty_boxes_and_a_run_reveals_its_pictures():
    """Before a run the Train tab had eight empty grey boxes under its first line; now the pictures and the checkpoint
    are hidden until a run gives them a value, the runs table keeps its named columns, and the first line says what
    will appear."""
    from demo.layout import build_demo
    from demo.train_tab import READY_TEXT, REVEALED, revealed

    props = {c["props"].get("elem_id"): c["props"] for c in build_demo().config["components"] if "props" in c}
    pictures = ("loss-plot", "acc-plot", "samples", "filters", "per-class", "confusion", "mistakes", "checkpoint")
    assert {e: props[e]["visible"] for e in pictures} == {e: False for e in pictures}
    assert props["results"]["visible"] is True and props["train-status"]["value"] == READY_TEXT
    assert all(words in READY_TEXT for words in ("Start training", "loss curve", "confusion matrix", "checkpoint"))
    figure = object()
    assert [revealed(k, figure) for k in REVEALED] == [{"__type__": "update", "value": figure, "visible": True}] * 8
    assert revealed("status", "Epoch 1/3") == "Epoch 1/3" and revealed("results", figure) is figure
    picker = gr.update(choices=["a"])
    assert revealed("model_picker", picker) is picker and revealed("loss_plot", picker) is picker


def test_a_drawing_is_added_to_the_class_s_drawings_under_what_the_student_says(tmp_path, monkeypatch):
    from demo import predict_tab
    from fmnist.collected import FOLDERS, read_drawing

    monkeypatch.setenv("FMNIST_DRAWINGS", str(tmp_path))
    value = pad_value(stroke_layer())
    for pad, drawn_as, words in ((value, None, "First pick what you drew"), (value, "Hat", "First pick what you drew"),
                                 ("", "Coat", "draw a garment first"), (None, "Coat", "draw a garment first"),
                                 ('{"png": "oops"}', "Coat", "could not be read")):
        message, picker, kept = predict_tab.keep_drawing(pad, drawn_as, 0)
        assert words in message and kept == 0 and not any(tmp_path.rglob("*.png")), (pad, drawn_as, message)
    message, picker, kept = predict_tab.keep_drawing(value, "Coat", 0)
    files = list(tmp_path.rglob("*.png"))
    assert message.startswith("✅ Added as Coat") and "1 (1 Coat)" in message and kept == 1 and picker is None
    assert len(files) == 1 and files[0].parent.name == FOLDERS[4]
    assert read_drawing(files[0])[..., 3].any()
    message, _, kept = predict_tab.keep_drawing(value, "Coat", kept)
    assert "already among the class's drawings" in message and kept == 1
    message, _, kept = predict_tab.keep_drawing(value, "Shirt", kept)  # said again as another class: moved
    assert "Added as Shirt" in message and [f.parent.name for f in tmp_path.rglob("*.png")] == [FOLDERS[6]]
    other = stroke_layer()
    other[300:320, 50:400, 3] = 255
    message, _, kept = predict_tab.keep_drawing(pad_value(other), "Coat", predict_tab.MAX_KEPT_PER_PAGE)
    assert "the most one page may" in message and len(list(tmp_path.rglob("*.png"))) == 1


def test_a_full_disk_is_said_and_the_drawing_stays_on_the_pad(tmp_path, monkeypatch):
    import errno

    from demo import predict_tab
    from fmnist import atomic

    monkeypatch.setenv("FMNIST_DRAWINGS", str(tmp_path))

    def no_space(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", no_space)
    message, picker, kept = predict_tab.keep_drawing(pad_value(stroke_layer()), "Bag", 3)
    assert message == "⚠️ Your drawing could not be kept: the server's disk is full. It is still on the pad."
    assert kept == 3 and not any(tmp_path.rglob("*.png")) and picker != None  # noqa: E711 (an update, not None)


def test_the_class_tab_scores_the_shipped_models_on_the_class_s_drawings(tmp_path, monkeypatch):
    from itertools import islice

    from demo import class_tab
    from fmnist.collected import add_drawing, collected_accuracy, load_collection
    from fmnist.sketches import iter_designs

    monkeypatch.setenv("FMNIST_DRAWINGS", str(tmp_path))
    monkeypatch.setattr(class_tab, "_drawings_memo", {})
    monkeypatch.setattr(class_tab, "_drawings_cache", {})
    summary, table, gallery, seen = class_tab.drawings_view()
    assert summary == class_tab.DRAWINGS_NONE and gallery["visible"] is False and seen == [0] * 10
    kept = list(islice(iter_designs(seed=2), 0, 1044, 50))
    for s in kept:
        add_drawing(tmp_path, s.canvas, s.label)
    trousers = next(s for s in kept if s.label == 1)
    add_drawing(tmp_path, np.fliplr(trousers.canvas).copy(), 4)  # a pair of trousers said to be a Coat (a slip)
    kept.append(trousers)
    summary, table, gallery, seen = class_tab.drawings_view(seen, force=False)  # the folder changed: redrawn
    default, meta = load_checkpoint("default")
    expected = collected_accuracy(default, meta["normalization"], load_collection(tmp_path))
    assert f"**{len(kept)} drawings from the class**" in summary
    assert f"cnn (default): **{expected['accuracy'] * 100:.1f} %** right" in summary and "lenet: **" in summary
    assert list(table.columns) == ["class", "drawings", "cnn (default)", "lenet"] and len(table) == 10
    coat = table.set_index("class").loc["Coat"]
    n, acc = expected["per_class_n"]["Coat"], expected["per_class_accuracy"]["Coat"]
    assert coat["drawings"] == n and coat["cnn (default)"] == f"{round(acc * n)} of {n} ({acc * 100:.0f} %)"
    wrong = [m for m in expected["mistakes"] if m["predicted"] is not None][:class_tab.MISTAKES_SHOWN]
    assert wrong and gallery["visible"] is True
    axes = [ax for ax in gallery["value"].axes if ax.images]
    assert len(axes) == len(wrong)
    for ax, m in zip(axes, wrong):  # each the drawing itself (dark ink on white), titled with its answer in red
        picture = ax.images[0].get_array()
        assert picture.shape == (class_tab.THUMB, class_tab.THUMB) and (picture > 200).mean() > 0.4
        said = m["predicted"].split("/")[0]
        assert ax.get_title() == f"{said} ({m['probability'] * 100:.0f} %)\ntrue: {m['label'].split('/')[0]}"
    assert all(v == gr.skip() for v in class_tab.drawings_view(seen, force=False))  # unchanged: nothing sent


def test_while_the_drawings_are_scored_a_look_waits_for_nothing(tmp_path, monkeypatch):
    """After a restart the first look scores every kept drawing (up to a minute for 20,000); the ticks of the open
    Class tabs meanwhile must not queue behind it, holding the places predictions need."""
    from demo import class_tab

    monkeypatch.setenv("FMNIST_DRAWINGS", str(tmp_path))
    with class_tab._drawings_lock:  # another call is scoring
        started = time.perf_counter()
        assert all(v == gr.skip() for v in class_tab.drawings_view(None, force=False))
        assert all(v == gr.skip() for v in class_tab.drawings_view(None, force=True))
        assert time.perf_counter() - started < 0.5
    assert class_tab.drawings_view(None, force=False)[0] == class_tab.DRAWINGS_NONE


def test_a_picture_returned_twice_at_once_is_never_read_half_written(tmp_path):
    """Two handlers returning the same picture at once (an upload answered twice) made Gradio write its cache file
    again while the browser read it: 0 bytes, a broken picture on the page. Through the app's writer a reader of the
    file only ever sees it whole, however many times it is saved, and a file that is there is not written again."""
    import threading

    from PIL import Image

    from demo.serving import write_pictures_whole
    from gradio import processing_utils

    write_pictures_whole()
    write_pictures_whole()  # twice: still one wrapper
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (224, 224), dtype=np.uint8))
    first = Path(processing_utils.save_img_array_to_cache(np.asarray(picture), str(tmp_path), format="png"))
    whole, seen, done = first.read_bytes(), set(), threading.Event()

    def save_again():
        for _ in range(300):
            processing_utils.save_pil_to_cache(picture, str(tmp_path), format="png")
        done.set()

    writer = threading.Thread(target=save_again)
    inode = first.stat().st_ino
    writer.start()
    while not done.is_set():
        seen.add(len(first.read_bytes()))
    writer.join()
    assert seen == {len(whole)} and first.read_bytes() == whole and first.stat().st_ino == inode
    assert [p.name for p in first.parent.iterdir()] == ["image.png"]  # no temp file left beside it
