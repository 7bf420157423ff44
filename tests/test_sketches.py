"""The sketch-style evaluation set, outline filling, and the sketch augmentation used in training."""

from __future__ import annotations

from itertools import chain

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import write_idx_dataset
from fmnist.augment import preview, silhouettes, sketch_augment
from fmnist.data import load_fashion_mnist
from fmnist.models import build_model
from fmnist.preprocess import BlankImageError, fill_enclosed, preprocess_drawing
from conftest import real_data
from fmnist.sketches import (BALANCED, BRUSHES, CANVAS, COLOURED, CONDITIONS, DESIGNS, DRAWINGS, KINDS, MAX_TILT,
                             PRINTED, PRINTED_CLASSES, SMALL_TILT, iter_printed,
                             Design, Pose, Prepared, draw_design, hand_drawn_outline, iter_coloured, iter_designs,
                             draw_set, make_sketches, prepare_sketches, sketch_accuracy, sketch_draws, sketch_set)


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
    expected = {c.name: 0 if c.sources == ("design",) else 30 + n_drawn // 2 for c in CONDITIONS}
    assert {k: len(p.images) for k, p in prepared.items()} == expected  # no designs among these drawings
    assert all(p.images.dtype == np.uint8 and p.images.shape[1:] == (28, 28) for p in prepared.values())
    result = sketch_accuracy(build_model("lenet", seed=0).eval(), {"mean": 0.286, "std": 0.353}, prepared)
    assert set(result) == {c.name for c in CONDITIONS} == {"outline", "outline+fill", "filled", "designs", "coloured",
                                                           "printed"}
    assert all(0 <= r["accuracy"] <= 1 and r["n"] == expected[k] for k, r in result.items())
    assert all(0 <= r["drawn_accuracy"] <= 1 and r["drawn_n"] == (n_drawn // 2 if expected[k] else 0)
               for k, r in result.items())


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
    assert {k: r["drawn_accuracy"] for k, r in ours.items() if r["drawn_n"]} == meta["metrics"]["sketch_drawn_accuracy"]
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
    sketches += (list(iter_designs(per_design=1))[::7] + list(iter_coloured(per_design=1))[::7]
                 + list(iter_printed(per_design=1))[::5])
    result = sketch_accuracy(model, norm, prepare_sketches(sketches))
    for c in CONDITIONS:
        right = [s.canvas.any() and predict_proba(model, to_input(preprocess_drawing(s.canvas, fill=c.fill), norm))[0]
                 .argmax() == s.label for s in sketches if s.kind in c.kinds and s.source in c.sources]
        assert result[c.name]["n"] == len(right) and result[c.name]["accuracy"] == round(sum(right) / len(right), 4)


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


def test_designs_are_seeded_and_cover_every_class_both_kinds_both_directions_and_tilts():
    a, b, other = list(iter_designs(seed=0, per_design=2)), list(iter_designs(seed=0, per_design=2)), \
        list(iter_designs(seed=1, per_design=2))
    assert len(a) == 2 * 2 * sum(len(d) for d in DESIGNS.values()) == len(other)
    assert all(np.array_equal(x.canvas, y.canvas) and x.pose == y.pose for x, y in zip(a, b))
    assert sum(np.array_equal(x.canvas, y.canvas) for x, y in zip(a, other)) == 0
    assert sorted(DESIGNS) == list(range(10))
    for label in range(10):
        drawn = [s for s in a if s.label == label]
        assert len({s.design for s in drawn}) == len(DESIGNS[label]) >= 8
        assert {s.kind for s in drawn} == set(KINDS) and {s.source for s in drawn} == {"design"}
        assert {s.pose.mirrored for s in drawn} == {False, True}  # shoes (and all else) face either way
        tilts = np.array([s.pose.tilt for s in drawn])
        limit = MAX_TILT.get(label, SMALL_TILT)
        assert np.abs(tilts).max() <= limit and tilts.min() < -limit / 2 and tilts.max() > limit / 2
    assert MAX_TILT == {5: 25.0, 7: 25.0} and SMALL_TILT <= 5  # sandals and sneakers lean, boots stand upright
    for s in a:
        assert s.canvas.shape == (CANVAS, CANVAS, 4) and s.canvas[..., :3].max() == 0  # ink in alpha only
        assert (s.stroke > 0) == (s.kind == "outline") and (s.stroke == 0 or 3 <= s.stroke <= 18)
        ink = np.argwhere(s.canvas[..., 3])
        extent = (ink.max(0) - ink.min(0)).max() / CANVAS
        assert 0.24 <= extent <= 0.95 and abs(extent - s.pose.size) < 0.05  # 25-90 % of the canvas (+ the pen)
    pens = [s.stroke for s in a if s.kind == "outline"]
    assert min(pens) <= 6 and max(pens) >= 10 and not any(6 < p < 10 for p in pens)  # thin and thick pens
    corners = [ink for s in a for ink in [np.argwhere(s.canvas[..., 3])]]
    assert min(c.min(0).min() for c in corners) < 20 and max(c.max(0).max() for c in corners) > CANVAS - 20


def test_coloured_designs_are_seeded_rows_of_brush_strokes_inside_each_design_for_their_own_column():
    a, b = list(iter_coloured(per_design=2)), list(iter_coloured(per_design=2))
    assert len(a) == 2 * sum(len(d) for d in DESIGNS.values())
    assert all(np.array_equal(x.canvas, y.canvas) and x.pose == y.pose for x, y in zip(a, b))
    assert sum(np.array_equal(x.canvas, y.canvas) for x, y in zip(a, list(iter_coloured(seed=1, per_design=2)))) == 0
    assert {(s.kind, s.source) for s in a} == {(COLOURED, "design")}
    assert {s.design for s in a} == {d.name for designs in DESIGNS.values() for d in designs}
    assert all(BRUSHES[0] <= s.stroke <= BRUSHES[1] for s in a)
    # the same pose drawn solid and coloured in: the rows cover most of the silhouette, not all of it
    cover = []
    for label, designs in DESIGNS.items():
        for design in designs[:3]:
            pose = Pose(False, 0.0, 0.6, 0.5, 0.5, 1.0)
            rng = np.random.default_rng(label)
            solid = draw_design(design, "filled", rng, pose)[0][..., 3] > 0
            rows = draw_design(design, COLOURED, rng, pose)[0][..., 3] > 0
            cover.append((rows & solid).sum() / solid.sum())
    assert 0.4 < np.median(cover) < 0.95 and min(cover) > 0.25
    prepared = prepare_sketches(a)  # scored in a column of their own; the designs column keeps its drawings
    assert len(prepared[COLOURED].images) == len(a) and not prepared[COLOURED].blank.any()
    assert all(len(p.images) == 0 for name, p in prepared.items() if name != COLOURED)
    with pytest.raises(ValueError, match="kind must be one of"):
        draw_design(DESIGNS[0][0], "hatched", np.random.default_rng(0))


def test_printed_designs_are_seeded_tops_and_dresses_with_a_print_inside_for_their_own_column():
    a, b = list(iter_printed(per_design=2)), list(iter_printed(per_design=2))
    assert len(a) == 2 * sum(len(DESIGNS[label]) for label in PRINTED_CLASSES)
    assert all(np.array_equal(x.canvas, y.canvas) and x.pose == y.pose for x, y in zip(a, b))
    assert sum(np.array_equal(x.canvas, y.canvas) for x, y in zip(a, list(iter_printed(seed=1, per_design=2)))) == 0
    assert {(s.kind, s.source) for s in a} == {(PRINTED, "design")} and {s.label for s in a} == set(PRINTED_CLASSES)
    assert {s.design for s in a} == {d.name for label in PRINTED_CLASSES for d in DESIGNS[label]}
    # drawn as outlines and solid: a solid one's ink covers most of its box, an outline's little of it
    cover = [(s.canvas[..., 3] > 0).mean() / np.ptp(np.argwhere(s.canvas[..., 3]), 0).prod() * CANVAS ** 2 for s in a]
    assert min(cover) < 0.35 and max(cover) > 0.5
    prepared = prepare_sketches(a)  # scored in a column of their own; the designs column keeps its drawings
    assert len(prepared[PRINTED].images) == len(a) and not prepared[PRINTED].blank.any()
    assert all(len(p.images) == 0 for name, p in prepared.items() if name != PRINTED)


@pytest.mark.parametrize("value", [255, 0])
def test_a_print_is_drawn_inside_the_outline_in_the_ink_asked_for(value):
    from fmnist.sketches import draw_print

    box = [(100.0, 80.0), (340.0, 80.0), (340.0, 380.0), (100.0, 380.0)]
    inside = np.zeros((CANVAS, CANVAS), bool)
    inside[80:381, 100:341] = True  # PIL fills a polygon edge to edge
    for seed in range(40):
        alpha = Image.new("L", (CANVAS, CANVAS), 0 if value else 255)  # an outline's paper or a solid garment
        place = lambda points: [(100 + 240 * x, 80 + 300 * y) for x, y in points]  # noqa: E731
        out = np.asarray(draw_print(alpha, box, place, 12, value, np.random.default_rng(seed)))
        changed = out != np.asarray(alpha)
        assert changed[inside].mean() > 0.005 and not changed[~inside].any(), seed
        assert (out[changed] == value).all()
        assert changed[inside].mean() < 0.6, seed  # a print, not the garment painted over


def test_hand_drawn_outlines_have_3_to_20_vertices_near_the_designs():
    rng = np.random.default_rng(0)
    counts, detailed = [], []  # vertices of all outlines, of the designs with 14 or more
    for design in (d for designs in DESIGNS.values() for d in designs):
        for _ in range(5):
            shape = hand_drawn_outline(design.outline, rng)
            counts.append(len(shape))
            if len(design.outline) >= 14:
                detailed.append(len(shape))
            assert 3 <= len(shape) <= 20 and shape.min() > -0.15 and shape.max() < 1.15
    assert min(counts) < 8 and max(counts) > 14  # some simplified to a few strokes, some wobbly
    assert min(detailed) < 14  # a 14-point garment is sometimes drawn with fewer
    from fmnist.polyline import simplify

    wavy = np.array([(0, 0), (.3, .01), (.6, -.01), (1, 0), (1, .5), (1.01, 1)])  # two straight strokes, wobbling
    assert np.array_equal(simplify(wavy, 0.02), wavy[[0, 3, 5]]) and np.array_equal(simplify(wavy, 0.001), wavy)


def test_draw_design_mirrors_and_tilts_as_posed():
    rng = lambda: np.random.default_rng(7)  # noqa: E731 - the same jitter and pen for each drawing
    sneaker = DESIGNS[7][0]
    centred = dict(tilt=0.0, size=0.6, x=0.5, y=0.5, stretch=1.0)
    left, _ = draw_design(sneaker, "filled", rng(), Pose(False, **centred))
    right, _ = draw_design(sneaker, "filled", rng(), Pose(True, **centred))
    a, b = left[..., 3] > 0, np.fliplr(right[..., 3] > 0)
    assert (a & b).sum() / (a | b).sum() > 0.9 and (a & np.fliplr(a)).sum() / a.sum() < 0.9  # a mirror image
    bar = Design("bar", ((0, .45), (1, .45), (1, .55), (0, .55)), (), 8.0, "side")
    for tilt in (-20.0, 0.0, 20.0):
        canvas, _ = draw_design(bar, "filled", rng(), Pose(False, **{**centred, "tilt": tilt}))
        ys, xs = np.nonzero(canvas[..., 3])
        cov = np.cov(xs, -ys)  # y up: a counter-clockwise tilt raises the right end
        angle = np.degrees(np.arctan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1]) / 2)
        assert abs(angle - tilt) < 4, (tilt, angle)


def test_every_design_drawing_preprocesses_into_the_designs_condition():
    sketches = list(iter_designs(per_design=3))
    prepared = prepare_sketches(sketches)
    designs = prepared["designs"]
    assert len(designs.images) == len(sketches) and not designs.blank.any()  # no BlankImageError
    assert all(len(p.images) == 0 for name, p in prepared.items() if name != "designs")
    assert np.array_equal(designs.labels, [s.label for s in sketches])
    assert np.array_equal(designs.images[5], preprocess_drawing(sketches[5].canvas, fill=False))  # the app's default
    assert (designs.images.reshape(len(sketches), -1).max(1) == 255).all()


def test_balanced_accuracy_is_the_mean_of_the_per_class_accuracies():
    class AlwaysTrouser(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(1))  # predict_proba reads the device from a parameter

        def forward(self, x):
            return torch.nn.functional.one_hot(torch.ones(len(x), dtype=torch.long), 10).float()

    labels = np.array([1] * 9 + [2] + [4] * 2)
    n = len(labels)
    prepared = {"designs": Prepared(np.zeros((n, 28, 28), np.uint8), labels, np.zeros(n, bool), np.zeros(n, bool))}
    r = sketch_accuracy(AlwaysTrouser(), {"mean": 0.286, "std": 0.353}, prepared)["designs"]
    assert r["accuracy"] == 0.75 and r["balanced_accuracy"] == round(1 / 3, 4)  # Trouser 1, Pullover 0, Coat 0
    assert r["per_class_accuracy"]["Trouser"] == 1.0 and r["per_class_accuracy"]["Coat"] == 0.0
    lenet = sketch_accuracy(build_model("lenet", seed=0).eval(), {"mean": 0.286, "std": 0.353},
                            prepare_sketches(iter_designs(per_design=1)))["designs"]
    assert lenet["balanced_accuracy"] == pytest.approx(np.mean(list(lenet["per_class_accuracy"].values())), abs=1e-4)


def test_shipped_checkpoints_record_what_they_score_on_the_designs():
    from fmnist.checkpoint import load_checkpoint

    designs = prepare_sketches(chain(iter_designs(), iter_coloured(), iter_printed()))  # sketch_set's design columns
    for name in ("default", "lenet"):
        model, meta = load_checkpoint(name)
        metrics = meta["metrics"]
        for column in BALANCED:
            measured = sketch_accuracy(model, meta["normalization"], {column: designs[column]})[column]
            assert metrics["sketch_accuracy"][column] == measured["accuracy"]
            assert metrics["sketch_balanced_accuracy"][column] == measured["balanced_accuracy"]
            assert metrics["sketch_per_class_accuracy"][column] == measured["per_class_accuracy"]


def test_training_does_not_draw_on_the_designs():
    import inspect

    import fmnist.augment
    import fmnist.garments
    import fmnist.train

    for module in (fmnist.train, fmnist.augment, fmnist.garments):
        source = inspect.getsource(module)
        assert not any(name in source for name in ("DESIGNS", "iter_designs", "draw_design", "iter_coloured",
                                                   "colour_rows", "iter_printed", "draw_print",
                                                   "fmnist.sketches")), module


def test_designs_have_no_near_duplicate_among_the_procedural_garments():
    from fmnist.garments import garment_bank

    designs = torch.from_numpy(prepare_sketches(iter_designs())["designs"].images).reshape(-1, 784).float()
    drawings = garment_bank.__wrapped__(per_class=1000, seed=0, workers=2)[0].reshape(-1, 784).float()
    nearest = torch.cat([torch.cdist(part, drawings).min(1).values for part in designs.split(128)]) / 28
    # RMS 0..255 to the closest of 10,000 garments: 16 at least, 62 the median; two drawings of one design lie a
    # median 66 apart (closest 12), other designs 18 at least (measured 2026-12)
    assert nearest.min() > 12, nearest.min()


def test_designs_have_no_near_duplicate_among_the_extra_styles():
    """--extra-styles was written after the set showed its tank top, T-bar sandal, backpack and flannel shirt misread:
    its vests, sandals strapped over the foot, backpacks and checked shirts are its own, not those designs redrawn."""
    from fmnist.garments import EXTRA_STYLES, garment_bank

    designs = prepare_sketches(s for s in iter_designs() if s.label in EXTRA_STYLES)["designs"].images
    designs = torch.from_numpy(designs).reshape(-1, 784).float()
    images, labels = garment_bank.__wrapped__(per_class=1000, seed=0, workers=2, extra=1.0)
    drawings = images[torch.isin(labels, torch.tensor(EXTRA_STYLES))].reshape(-1, 784).float()
    nearest = torch.cat([torch.cdist(part, drawings).min(1).values for part in designs.split(128)]) / 28
    # RMS 0..255 to the closest of 4,000 tees and vests, sandals, shirts and bags, each bag a backpack, each sandal
    # strapped over the foot and each shirt checked: 31 (a backpack), the medians 54 / 69 / 81 / 78 for T-shirt /
    # Sandal / Shirt / Bag (2026-12-07)
    assert nearest.min() > 12, nearest.min()


def test_printed_designs_have_no_near_duplicate_among_garments_printed_for_training():
    from fmnist.garments import garment_bank

    printed = torch.from_numpy(prepare_sketches(iter_printed())[PRINTED].images).reshape(-1, 784).float()
    drawings = garment_bank.__wrapped__(per_class=300, seed=0, workers=2, patterns=1.0)[0].reshape(-1, 784).float()
    nearest = torch.cat([torch.cdist(part, drawings).min(1).values for part in printed.split(128)]) / 28
    # RMS 0..255 to the closest of 3,000 garments, every outlined top and dress with a print: 30 (2026-12-06)
    assert nearest.min() > 12, nearest.min()


def test_coloured_designs_have_no_near_duplicate_among_garments_coloured_in_for_training():
    from fmnist.garments import garment_bank

    coloured = torch.from_numpy(prepare_sketches(iter_coloured())[COLOURED].images).reshape(-1, 784).float()
    drawings = garment_bank.__wrapped__(per_class=300, seed=0, workers=2, strokes=1.0)[0].reshape(-1, 784).float()
    nearest = torch.cat([torch.cdist(part, drawings).min(1).values for part in coloured.split(128)]) / 28
    # RMS 0..255 to the closest garment (every coloured-in one coloured with rows): against 10,000 garments the
    # closest is 23 and the median 72 (measured 2026-12)
    assert nearest.min() > 12, nearest.min()


@real_data
@pytest.mark.parametrize("column", BALANCED)
def test_designs_have_no_near_duplicate_among_the_training_images(column):
    data = load_fashion_mnist()
    designs = prepare_sketches(chain(iter_designs(), iter_coloured(), iter_printed()))[column].images
    train = data.train_images.reshape(len(data.train_images), -1).float()
    nearest = torch.cat([torch.cdist(part, train).min(1).values
                         for part in torch.from_numpy(designs).reshape(len(designs), -1).float().split(128)])
    rms = nearest / 28  # root-mean-square pixel difference to the closest training image, 0..255
    # 1 % of training images have another within 14 of them; the designs' closest is 22, the coloured ones' 29, the
    # printed ones' 33 (measured 2026-12)
    assert rms.min() > 12, rms.min()


def test_scribbles_are_seeded_big_enough_to_be_judged_and_not_garments():
    from fmnist.sketches import iter_scribbles

    a, b, other = list(iter_scribbles(20)), list(iter_scribbles(20)), list(iter_scribbles(20, seed=1))
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and not np.array_equal(a[0], other[0])
    assert all(x.shape == (CANVAS, CANVAS, 4) for x in a)
    judged = 0
    for canvas in a:
        try:
            preprocess_drawing(canvas)
            judged += 1
        except BlankImageError:
            pass
    assert judged >= 18  # nearly all span more than the fifth of the pad under which a drawing is refused


def test_verdicts_tell_right_answers_from_wrong_ones_and_drawings_from_scribbles():
    from fmnist.checkpoint import load_checkpoint
    from fmnist.sketches import verdict_figures

    model, meta = load_checkpoint("default")
    v = verdict_figures(model, meta["normalization"], prepare_sketches(iter_designs(per_design=2)), scribbles=80)
    d = v["drawings"]
    assert v["drawings_n"] == 2 * 2 * sum(len(x) for x in DESIGNS.values()) and v["scribbles_n"] >= 70
    assert abs(sum(x["share"] for x in d.values()) - 1) < 1e-3
    assert abs(sum(v["scribbles"].values()) - 1) < 1e-3
    # a confident answer is right far more often than a hesitant one, and scribbles rarely get one
    assert d["sure"]["accuracy"] > d["unsure"]["accuracy"] + 0.2 and d["sure"]["share"] > 0.5
    assert v["scribbles"]["sure"] < d["sure"]["share"] - 0.3


def test_figures_over_several_draws_pool_the_draws_drawings_and_draw_0_is_the_reported_set(tmp_path):
    data = load_fashion_mnist(write_idx_dataset(tmp_path / "d", n_train=100, n_test=200))
    model, norm = build_model("cnn", seed=0).eval(), {"mean": 0.286, "std": 0.353}
    reported = sketch_accuracy(model, norm, sketch_set(data))
    got = sketch_draws(model, norm, data, 2)
    assert got["draws"] == 2 and set(got["pooled"]) == set(got["per_draw"]) == set(reported)
    second = draw_set(data, 1)
    for name, r in reported.items():
        per, pooled = got["per_draw"][name], got["pooled"][name]
        assert per["accuracy"][0] == r["accuracy"] and len(per["accuracy"]) == 2
        assert {c: a[0] for c, a in per["per_class_accuracy"].items()} == r["per_class_accuracy"]
        assert pooled["n"] == r["n"] + len(second[name].labels) == 2 * r["n"]  # each draw has the same drawings
        for c, a in per["per_class_accuracy"].items():  # same counts per class in each draw: the mean of the two
            assert pooled["per_class_accuracy"][c] == pytest.approx(sum(a) / 2, abs=1e-4)
    first = sketch_set(data)["designs"].images
    assert not np.array_equal(second["designs"].images, first)  # another draw: other wobbles, pens and poses
    assert np.array_equal(draw_set(data, 1)["designs"].images, second["designs"].images)  # seeded
    assert got["per_draw"]["designs"]["accuracy"][1] == sketch_accuracy(model, norm, second)["designs"]["accuracy"]
    for bad in (0, 21, 1.5, True):
        with pytest.raises(ValueError, match="draws must be a whole number from 1 to 20"):
            sketch_draws(model, norm, data, bad)
