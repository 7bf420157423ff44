"""The sketch-style evaluation set, outline filling, and the sketch augmentation used in training."""

from __future__ import annotations

import numpy as np
import torch

from conftest import write_idx_dataset
from fmnist.augment import preview, silhouettes, sketch_augment
from fmnist.data import load_fashion_mnist
from fmnist.models import build_model
from fmnist.preprocess import fill_enclosed, preprocess_drawing
from fmnist.sketches import CANVAS, CONDITIONS, DRAWINGS, make_sketches, prepare_sketches, sketch_accuracy


def test_sketches_are_sketchpad_canvases_from_the_test_split(tmp_path):
    data = load_fashion_mnist(write_idx_dataset(tmp_path / "d", n_train=100, n_test=200))
    a, b = make_sketches(data, per_class=3, seed=1, per_template=2), make_sketches(data, per_class=3, seed=1,
                                                                                   per_template=2)
    n_drawn = 2 * 2 * sum(len(t) for t in DRAWINGS.values())
    assert sorted(DRAWINGS) == list(range(10)) and all(len(t) >= 2 for t in DRAWINGS.values())
    assert len(a) == 10 * 3 * 2 + n_drawn and all(np.array_equal(x.canvas, y.canvas) for x, y in zip(a, b))
    assert sum(s.source == "drawn" for s in a) == n_drawn
    for s in a:
        assert s.canvas.shape == (CANVAS, CANVAS, 4) and s.canvas[..., :3].max() == 0  # ink in alpha only
        assert s.canvas[..., 3].any() and s.kind in ("outline", "filled")
        assert (s.stroke > 0) == (s.kind == "outline")
        ink = np.argwhere(s.canvas[..., 3])
        assert (ink.max(0) - ink.min(0)).max() >= 0.3 * CANVAS  # drawn at a third of the canvas or more
    filled = [s for s in a if s.kind == "filled"][0]
    outline = [s for s in a if s.kind == "outline"][0]
    assert filled.canvas[..., 3].mean() > outline.canvas[..., 3].mean() * 2  # a silhouette has far more ink
    prepared = prepare_sketches(a)
    assert {k: len(p.images) for k, p in prepared.items()} == {k: 30 + n_drawn // 2 for k, _, _ in CONDITIONS}
    assert all(p.images.dtype == np.uint8 and p.images.shape[1:] == (28, 28) for p in prepared.values())
    result = sketch_accuracy(build_model("lenet", seed=0).eval(), {"mean": 0.286, "std": 0.353}, prepared)
    assert set(result) == {name for name, _, _ in CONDITIONS}
    assert all(0 <= r["accuracy"] <= 1 and r["n"] == 30 + n_drawn // 2 for r in result.values())
    assert all(0 <= r["drawn_accuracy"] <= 1 and r["drawn_n"] == n_drawn // 2 for r in result.values())


def test_fill_enclosed_paints_closed_outlines_only():
    square = np.zeros((30, 30), np.uint8)
    square[5, 5:25] = square[24, 5:25] = square[5:25, 5] = square[5:25, 24] = 255
    filled = fill_enclosed(square)
    assert filled[10:20, 10:20].min() == 255 and filled[0, 0] == 0 and filled[27, 27] == 0
    opened = square.copy()
    opened[5, 10:15] = 0  # a gap in the top edge: nothing is enclosed
    assert np.array_equal(fill_enclosed(opened), opened)


def test_filling_an_outline_drawing_approaches_the_silhouette():
    canvas = np.zeros((448, 448, 4), np.uint8)
    canvas[50:400, 150:300, 3] = 255
    solid = preprocess_drawing(canvas.copy())
    canvas[60:390, 160:290, 3] = 0  # now only a 10-pixel outline
    assert np.abs(preprocess_drawing(canvas, fill=True).astype(int) - solid).mean() < 10
    assert np.abs(preprocess_drawing(canvas, fill=False).astype(int) - solid).mean() > 50


def test_sketch_augment_keeps_shape_range_and_is_seeded():
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 6:22, 8:20] = torch.linspace(0.2, 1, 12)
    masks = silhouettes(x)
    assert torch.equal(masks[0, 0, 6:22, 8:20], torch.ones(16, 12)) and masks.sum() == 64 * 16 * 12
    a = sketch_augment(x, masks, torch.Generator().manual_seed(0))
    b = sketch_augment(x, masks, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b) and 0 <= a.min() and a.max() <= 1
    binary = ((a == 0) | (a == 1)).flatten(1).all(1)  # silhouettes and outlines are pure black/white
    assert 0 < binary.float().mean() < 1
    photos = a[~binary]  # the ramp brightens to the right; a mirrored photo brightens to the left
    row = photos[:, 0, 12]
    dimmest = torch.where(row > 0, row, torch.tensor(2.0)).argmin(1)
    mirrored = row.argmax(1) < dimmest
    assert 0 < mirrored.float().mean() < 1


def test_preview_is_what_sketch_augment_makes_of_a_few_uint8_images():
    images = torch.zeros(8, 28, 28, dtype=torch.uint8)
    images[:, 6:22, 8:20] = 200
    images[:, 10:14, 12:16] = 0  # a hole: silhouettes fill it, outlines do not draw it
    shown = preview(images, seed=5)
    x = images.float().unsqueeze(1) / 255
    assert shown.shape == (8, 28, 28)
    assert torch.equal(shown, sketch_augment(x, silhouettes(x), torch.Generator().manual_seed(5))[:, 0])
    assert not torch.equal(shown, preview(images, seed=6))


def test_fill_holes_keeps_the_outer_contour_only():
    from fmnist.morphology import fill_holes

    ring = torch.zeros(1, 1, 12, 12, dtype=torch.bool)
    ring[..., 2:10, 2] = ring[..., 2:10, 9] = ring[..., 2, 2:10] = ring[..., 9, 2:10] = True
    filled = fill_holes(ring)
    assert filled[..., 3:9, 3:9].all() and not filled[..., 0, 0] and filled.sum() == 64
    open_ring = ring.clone()
    open_ring[..., 2, 4:7] = False
    assert torch.equal(fill_holes(open_ring), open_ring)


def diamond_outline(size: int = 21) -> np.ndarray:
    """A one-pixel diamond drawn with diagonal steps only: its pixels touch at corners, never at sides."""
    img = np.zeros((size, size), np.uint8)
    c = size // 2
    for i in range(c + 1):
        for y, x in ((i, c + i), (i, c - i), (size - 1 - i, c + i), (size - 1 - i, c - i)):
            img[y, x] = 255
    return img


def test_an_outline_closed_only_by_diagonal_contacts_is_closed_for_the_app_and_for_training():
    outline = diamond_outline()
    app = fill_enclosed(outline)  # the app's "Fill closed outlines"
    assert app[10, 10] == 255 and app[10, 3] == 255 and app[0, 0] == 0  # inside painted, outside not
    x = torch.from_numpy(outline).float().div(255).view(1, 1, 21, 21)
    training = silhouettes(x)[0, 0]  # sketch-style augmentation's filled silhouettes
    assert torch.equal(training.bool(), torch.from_numpy(app > 0))  # one fill: the same pixels
    broken = outline.copy()
    broken[0, 10] = 0  # a real gap at the top: the inside is reachable from the border
    assert np.array_equal(fill_enclosed(broken), broken)


def test_dilate_and_erode_are_square_windows_of_the_given_width():
    from fmnist.morphology import dilate, erode

    rng = np.random.default_rng(0)
    ink = (rng.random((17, 23)) * 255 * (rng.random((17, 23)) > 0.85)).astype(np.uint8)
    mask = rng.random((17, 23)) > 0.25
    for width in (1, 2, 3, 4, 5, 8):
        before, after = width // 2, width - 1 - width // 2
        padded = np.pad(ink, ((before, after), (before, after)))
        expected = np.array([[padded[y:y + width, x:x + width].max() for x in range(23)] for y in range(17)])
        assert np.array_equal(dilate(torch.from_numpy(ink), width).numpy(), expected), width
        assert np.array_equal(dilate(ink, width), expected), width  # numpy in, numpy out, the same pixels
        full = np.pad(mask, ((before, after), (before, after)), constant_values=True)  # the border never erodes
        expected = np.array([[full[y:y + width, x:x + width].all() for x in range(23)] for y in range(17)])
        assert np.array_equal(erode(torch.from_numpy(mask), width).numpy(), expected), width
        assert np.array_equal(erode(mask, width), expected), width


def test_shipped_default_recognises_most_hand_constructed_drawings_and_lenet_does_not(tmp_path):
    from fmnist.checkpoint import load_checkpoint

    data = load_fashion_mnist(write_idx_dataset(tmp_path / "d", n_train=20, n_test=20))
    drawn = prepare_sketches(make_sketches(data, per_class=0))  # the hand-constructed drawings alone
    cnn, meta = load_checkpoint("default")
    lenet, lenet_meta = load_checkpoint("lenet")
    ours = sketch_accuracy(cnn, meta["normalization"], drawn)
    assert {k: r["drawn_accuracy"] for k, r in ours.items()} == meta["metrics"]["sketch_drawn_accuracy"]
    theirs = sketch_accuracy(lenet, lenet_meta["normalization"], drawn)
    assert ours["outline"]["accuracy"] >= 0.65 and ours["filled"]["accuracy"] >= 0.65
    assert all(ours[k]["accuracy"] > theirs[k]["accuracy"] + 0.1 for k in ("outline", "outline+fill", "filled"))


def test_scores_count_blank_drawings_as_wrong_and_match_one_at_a_time_predictions(tmp_path):
    from fmnist.predict import predict_proba, to_input
    from fmnist.sketches import Sketch

    data = load_fashion_mnist(write_idx_dataset(tmp_path / "d", n_train=20, n_test=50))
    sketches = make_sketches(data, per_class=2, per_template=1)
    blank = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    sketches += [Sketch(blank, 3, "outline", 4), Sketch(blank, 3, "filled", 0)]
    model, norm = build_model("lenet", seed=1).eval(), {"mean": 0.286, "std": 0.353}
    result = sketch_accuracy(model, norm, prepare_sketches(sketches))
    for name, kind, fill in CONDITIONS:
        right = [s.canvas.any() and predict_proba(model, to_input(preprocess_drawing(s.canvas, fill=fill), norm))[0]
                 .argmax() == s.label for s in sketches if s.kind == kind]
        assert result[name]["n"] == len(right) and result[name]["accuracy"] == round(sum(right) / len(right), 4)


def test_squash_narrows_or_flattens_drawings_about_the_centre_and_is_seeded():
    from fmnist.augment import squash

    x = torch.zeros(32, 1, 28, 28)
    x[:, :, :, 4:24] = 1  # 20 wide, 28 tall
    a, b = squash(x, torch.Generator().manual_seed(3)), squash(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    widths = (a[:, 0].sum(1) > 0.5).sum(1)  # columns with ink
    heights = (a[:, 0].sum(2) > 0.5).sum(1)  # rows with ink
    narrowed, flattened = widths < 20, heights < 28
    assert narrowed.any() and flattened.any() and not (narrowed & flattened).any()
    assert (widths >= 15).all() and (heights >= 21).all()  # by at most a fifth
    centre = (a[:, 0].sum(1) * torch.arange(28)).sum(1) / a[:, 0].sum((1, 2))
    assert torch.allclose(centre, torch.full((32,), 13.5), atol=0.6)
