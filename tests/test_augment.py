"""Training-time drawings: hand-drawn renderings of training images, random erasing, and the batch mixture."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fmnist.augment import DRAWN_SHARES, HAND_VARIANTS, SHAPES_ONLY, hand_drawn, hand_drawn_bank, random_erase, sketch_augment
from fmnist.morphology import erode
from fmnist.polyline import simplify


def garment(shape: str = "top") -> np.ndarray:
    """A 28x28 uint8 light-on-black garment: a T-shaped top with a dark seam down the middle, or a wide low
    shoe."""
    img = np.zeros((28, 28), np.uint8)
    if shape == "top":
        img[2:8, 2:26] = 200
        img[2:27, 8:20] = 200
        img[6:27, 13:15] = 60  # a dark interior line (a zip)
    else:
        img[16:26, 1:27] = 180
        img[10:16, 14:27] = 180
    return img


def test_simplify_keeps_corners_and_drops_points_on_straight_lines():
    square = np.array([(0, 0), (1, 0), (2, 0), (3, 0), (3, 1), (3, 2), (3, 3), (2, 3), (1, 3), (0, 3), (0, 0)], float)
    corners = simplify(square, tolerance=0.1)
    assert [tuple(p) for p in corners] == [(0, 0), (3, 0), (3, 3), (0, 3), (0, 0)]
    wobbly = square + np.random.default_rng(0).normal(0, 0.05, square.shape)
    assert len(simplify(wobbly, tolerance=0.3)) == 5 and len(simplify(wobbly, tolerance=0.0)) == len(square)


def test_hand_drawn_is_a_model_image_of_strokes_deterministic_per_seed():
    top = garment()
    first = [hand_drawn(top, 0, np.random.default_rng(3)) for _ in range(2)]
    assert np.array_equal(*first) and first[0].dtype == np.uint8 and first[0].shape == (28, 28)
    assert first[0].max() == 255  # stretched to white, as the app's preprocessing does
    rng = np.random.default_rng(4)
    drawings = [hand_drawn(top, 0, rng) for _ in range(60)]
    assert not all(np.array_equal(drawings[0], d) for d in drawings[1:])
    ink = np.array([(d > 64).mean() for d in drawings])
    silhouette = (top > 25).mean()
    assert (ink < 0.6 * silhouette).mean() > 0.5  # mostly outlines: far less ink than the solid garment
    assert (ink > 0.8 * silhouette).any()  # some are coloured in
    # cropped and scaled like a drawing: the longest side spans the picture
    for d in drawings:
        rows, cols = np.nonzero(d > 25)
        assert max(np.ptp(rows), np.ptp(cols)) >= 24


def tilt(image: np.ndarray) -> float:
    """The angle (degrees) of an image's principal axis, from its second moments."""
    rows, cols = np.nonzero(image > 64)
    cov = np.cov(np.stack([cols, rows]).astype(float))
    return float(np.degrees(0.5 * np.arctan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1])))


def test_shoes_are_drawn_tilted_and_garments_nearly_upright():
    shoe = np.zeros((28, 28), np.uint8)
    shoe[12:20, 1:27] = 180  # a wide low shape, the same mirrored: its tilt is the drawing's
    rng = np.random.default_rng(0)
    as_shoe = np.array([tilt(hand_drawn(shoe, 7, rng)) for _ in range(40)])
    as_top = np.array([tilt(hand_drawn(shoe, 0, rng)) for _ in range(40)])
    assert np.abs(as_shoe).max() > 12 and np.abs(as_top).max() < 8 and as_shoe.std() > 2 * as_top.std()


def test_a_blank_image_is_left_as_it_is():
    blank = np.zeros((28, 28), np.uint8)
    assert np.array_equal(hand_drawn(blank, 3, np.random.default_rng(0)), blank)


def test_the_bank_is_the_same_whatever_the_number_of_workers():
    images = torch.from_numpy(np.stack([garment("top"), garment("shoe")] * 100))
    labels = torch.tensor([0, 7] * 100)
    one = hand_drawn_bank(images, labels, seed=1, workers=1, chunk=50)
    assert one.shape == (200, HAND_VARIANTS, 28, 28) and one.dtype == torch.uint8
    assert torch.equal(one, hand_drawn_bank(images, labels, seed=1, workers=2, chunk=50))
    assert not torch.equal(one[:, 0], one[:, 1])  # the variants differ
    assert not torch.equal(one[:50], one[50:100])  # so do the chunks' random streams
    assert not torch.equal(one, hand_drawn_bank(images, labels, seed=2, workers=1, chunk=50))


def test_random_erase_blacks_out_one_rectangle_in_the_chosen_share():
    x = torch.ones(400, 1, 28, 28)
    assert torch.equal(random_erase(x, torch.Generator().manual_seed(0), 0.0), x)
    erased = random_erase(x, torch.Generator().manual_seed(0), 1.0)
    holes = (erased == 0)[:, 0]
    area = holes.flatten(1).float().mean(1)
    assert (area > 0).all() and area.max() <= 0.45 and area.min() >= 0.005
    for hole in holes[:20]:  # each hole is one axis-aligned rectangle
        rows, cols = hole.any(1).nonzero().flatten(), hole.any(0).nonzero().flatten()
        assert hole[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()
    half = random_erase(x, torch.Generator().manual_seed(1), 0.5)
    assert 0.4 < (half == 0).flatten(1).any(1).float().mean() < 0.6


def test_the_mixture_with_hand_drawn_renderings_has_the_stated_shares():
    n = 4000
    photos = torch.full((n, 1, 28, 28), 0.2)
    drawn = torch.full((n, 1, 28, 28), 0.9)
    masks = torch.zeros(n, 1, 28, 28)
    masks[:, :, 4:24, 4:24] = 1
    out = sketch_augment(photos, masks, torch.Generator().manual_seed(0), drawn=drawn)
    flat = out.flatten(1)
    share_photo = (flat == 0.2).all(1).float().mean()
    share_drawn = (flat == 0.9).all(1).float().mean()
    assert abs(share_photo - DRAWN_SHARES[0]) < 0.03 and abs(share_drawn - DRAWN_SHARES[1]) < 0.03
    sketched = ~((flat == 0.2).all(1) | (flat == 0.9).all(1))
    assert abs(sketched.float().mean() - sum(DRAWN_SHARES[2:])) < 0.03
    assert len(DRAWN_SHARES) == 5 and abs(sum(DRAWN_SHARES) - 1) < 1e-9
    # with erasing, photos get holes; the drawings never do
    erased = sketch_augment(photos, masks, torch.Generator().manual_seed(0), drawn=drawn, erase=1.0).flatten(1)
    assert ((erased == 0.2).any(1) & (erased == 0).any(1)).float().mean() > 0.4
    assert not ((erased == 0.9).any(1) & (erased == 0).any(1)).any()


def test_without_renderings_the_mixture_is_todays():
    x = torch.rand(64, 1, 28, 28)
    masks = (x > 0.5).float()
    a = sketch_augment(x, masks, torch.Generator().manual_seed(5))
    b = sketch_augment(x, masks, torch.Generator().manual_seed(5), erase=0.0)
    assert torch.equal(a, b)


def test_shapes_only_never_hands_over_a_photo():
    # grey photos (0.4) on a square silhouette: a photo keeps 0.4 inside, a silhouette or outline is 1 where inked
    n = 2000
    masks = torch.zeros(n, 1, 28, 28)
    masks[:, :, 4:24, 6:22] = 1
    photos = 0.4 * masks
    shapes = sketch_augment(photos, masks, torch.Generator().manual_seed(0), shares=SHAPES_ONLY).flatten(1)
    assert (shapes.amax(1) > 0.9).all()
    filled = (shapes > 0.9).float().mean(1) > 0.25  # a filled square inks a third of the image, an outline far less
    assert abs(filled.float().mean() - SHAPES_ONLY[0]) < 0.04
    today = sketch_augment(photos, masks, torch.Generator().manual_seed(0)).flatten(1)
    assert abs((today.amax(1) < 0.5).float().mean() - 0.5) < 0.04  # half of today's mixture stays photos


def test_erasing_reaches_the_photos_of_the_mixture_without_renderings_too():
    photos, masks = torch.ones(500, 1, 28, 28), torch.ones(500, 1, 28, 28)
    out = sketch_augment(photos, masks, torch.Generator().manual_seed(2), erase=1.0, shares=(0.0, 0.0)).flatten(1)
    assert ((out == 0).any(1)).all()  # every photo has its hole (an all-ones image has none otherwise)
    kept = sketch_augment(photos, masks, torch.Generator().manual_seed(2), shares=(0.0, 0.0))
    assert torch.equal(kept, photos)


def test_edge_drawings_add_the_lines_inside_a_garment_to_its_outline():
    from fmnist.augment import edge_drawings, silhouettes

    zipped = torch.from_numpy(np.stack([garment("top")])).float().unsqueeze(1) / 255
    plain = zipped.clone()
    plain[plain > 0] = 200 / 255  # the same top without its zip
    x = torch.cat([zipped, plain])
    masks = silhouettes(x)
    outline = masks * ~erode(masks > 0, 3)
    drawn = edge_drawings(x, masks, outline, torch.Generator().manual_seed(0))
    assert torch.equal(drawn[1], outline[1])  # nothing inside a plain garment to draw
    zip_column = drawn[0, 0, 10:24, 12:16]
    assert zip_column.sum() >= 14 and outline[0, 0, 10:24, 12:16].sum() == 0  # the zip is drawn as lines
    assert set(drawn.unique().tolist()) <= {0.0, 1.0}


def test_pen_shapes_are_the_garments_silhouette_filled_and_traced_as_the_app_sees_a_drawing():
    from fmnist.augment import PEN_VARIANTS, pen_shape

    top, rng = garment("top"), np.random.default_rng(0)
    filled = [pen_shape(top, False, rng) for _ in range(30)]
    traced = [pen_shape(top, True, rng) for _ in range(30)]
    for d in filled + traced:
        assert d.dtype == np.uint8 and d.shape == (28, 28) and d.max() == 255
        rows, cols = np.nonzero(d > 25)
        assert max(np.ptp(rows), np.ptp(cols)) >= 26  # cropped and scaled to the picture, as the app does
    solid = (top > 25).mean()
    ink_filled = np.array([(d > 64).mean() for d in filled])
    ink_traced = np.array([(d > 64).mean() for d in traced])
    assert (ink_filled > 0.7 * solid).all()
    holed = np.zeros((28, 28), np.uint8)
    holed[4:24, 4:24] = 200
    holed[10:18, 10:18] = 5  # a dark patch inside: a drawer fills the outer contour, hole and all
    assert all(pen_shape(holed, False, rng)[9:19, 9:19].min() == 255 for _ in range(10))
    assert (ink_traced < 0.8 * ink_filled.mean()).all()  # traced: a line along the edge, the middle left empty
    assert all(pen_shape(holed, True, rng)[12:16, 12:16].max() < 64 for _ in range(10))
    # the pen is so many pad pixels wide: on small drawings it takes more of the picture than on big ones
    assert ink_traced.max() > 2 * ink_traced.min()
    assert PEN_VARIANTS == 2 and np.array_equal(pen_shape(np.zeros((28, 28), np.uint8), True, rng), np.zeros((28, 28)))


def test_the_pen_shape_bank_is_filled_then_traced_and_the_same_whatever_the_workers():
    from fmnist.augment import pen_shape_bank

    images = torch.from_numpy(np.stack([garment("top"), garment("shoe")] * 60))
    one = pen_shape_bank(images, seed=1, workers=1, chunk=40)
    assert one.shape == (120, 2, 28, 28) and one.dtype == torch.uint8
    assert torch.equal(one, pen_shape_bank(images, seed=1, workers=2, chunk=40))
    assert ((one[:, 0] > 64).float().mean() > 1.3 * (one[:, 1] > 64).float().mean())  # variant 0 filled, 1 traced
    assert not torch.equal(one[:40], one[40:80])  # each chunk its own random stream
    assert not torch.equal(one, pen_shape_bank(images, seed=2, workers=1, chunk=40))
    assert torch.equal(one, pen_shape_bank(images, seed=1, workers=1, chunk=40, variants=2))  # the default is two


def test_more_pen_variants_are_more_drawings_of_each_silhouette_alternately_filled_and_traced():
    from fmnist.augment import pen_shape_bank

    images = torch.from_numpy(np.stack([garment("top"), garment("shoe")] * 30))
    six = pen_shape_bank(images, seed=1, workers=1, chunk=20, variants=6)
    assert six.shape == (60, 6, 28, 28) and torch.equal(six, pen_shape_bank(images, seed=1, workers=2, chunk=20,
                                                                              variants=6))
    ink = (six > 64).float().mean((2, 3))  # (60, 6)
    assert (ink[:, 0::2].mean(1) > 1.3 * ink[:, 1::2].mean(1)).float().mean() > 0.9  # even filled, odd traced
    for v in range(6):  # each a drawing of its own (its own size, aspect, pen and level), not a copy of another
        assert all(not torch.equal(six[:, v], six[:, w]) for w in range(v + 1, 6))
    assert not torch.equal(six[:, 2], six[:, 0]) and (six[:, 2].float() - six[:, 0].float()).abs().mean() > 5


def test_colouring_in_is_rows_of_strokes_inside_the_shape_with_gaps_and_no_bridges():
    from fmnist.augment import colour_in
    from fmnist.morphology import dilate

    legs = np.zeros((200, 200), bool)
    legs[20:180, 30:80] = legs[20:180, 120:170] = True  # two trouser legs 40 pixels apart
    legs[20:60, 30:170] = True  # joined at the waist
    cover = []
    for seed in range(40):
        pen = int(np.random.default_rng(seed).integers(6, 20))
        ink = colour_in(legs, pen, np.random.default_rng(seed))
        assert np.array_equal(ink, colour_in(legs, pen, np.random.default_rng(seed)))  # deterministic per seed
        assert not (ink & ~dilate(legs, pen | 1)).any()  # at most half a pen past the edge
        assert not ink[70:180, 80 + pen // 2 + 1:120 - pen // 2 - 1].any()  # no row bridges the legs' gap
        cover.append((ink & legs).sum() / legs.sum())
    cover = np.array(cover)
    assert cover.min() > 0.35 and np.median(cover) < 0.9  # mostly coloured, the background showing between rows
    assert cover.max() > 0.85  # rows that touch colour it in nearly solid
    assert not colour_in(np.zeros((50, 50), bool), 8, np.random.default_rng(0)).any()


def test_colour_strokes_change_only_coloured_in_drawings_and_never_run_at_zero(monkeypatch):
    import fmnist.augment
    from fmnist.augment import pen_shape
    from fmnist.garments import garment_drawing

    top = garment("top")
    changed = [not np.array_equal(hand_drawn(top, 0, np.random.default_rng(s), 1.0),
                                  hand_drawn(top, 0, np.random.default_rng(s), 0.0)) for s in range(60)]
    assert 0.15 < np.mean(changed) < 0.5  # the coloured-in ones (three in ten)
    for s in range(20):  # a traced pen shape is never coloured in
        assert np.array_equal(pen_shape(top, True, np.random.default_rng(s), 1.0),
                              pen_shape(top, True, np.random.default_rng(s), 0.0))
    solid = np.array([(pen_shape(top, False, np.random.default_rng(s), 0.0) > 200).mean() for s in range(30)])
    rows = np.array([(pen_shape(top, False, np.random.default_rng(s), 1.0) > 200).mean() for s in range(30)])
    assert rows.mean() < 0.85 * solid.mean()  # gaps between the rows
    garments = [not np.array_equal(garment_drawing(2, np.random.default_rng(s), 1.0),
                                   garment_drawing(2, np.random.default_rng(s), 0.0)) for s in range(60)]
    assert 0.15 < np.mean(garments) < 0.55

    def refuse(*args):
        raise AssertionError("colour_in called with colour strokes off")

    monkeypatch.setattr(fmnist.augment, "colour_in", refuse)
    for s in range(30):
        hand_drawn(top, 0, np.random.default_rng(s), 0.0)
        pen_shape(top, False, np.random.default_rng(s), 0.0)
        garment_drawing(s % 10, np.random.default_rng(s), 0.0)


def _signal_handlers(_job) -> tuple:
    import signal

    return signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)


def test_forked_bank_workers_die_quietly_rather_than_run_the_parents_handlers():
    import signal

    from fmnist.augment import fork_map

    def stop(signum, frame):  # as the CLI's train: SIGTERM stops the run and saves it
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        got = fork_map(_signal_handlers, [0, 1, 2], workers=2)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert got == [(signal.SIG_DFL, signal.SIG_IGN)] * 3


# A SIGTERM that reaches a worker in the instant after its fork, before it has set its own handlers, as the pool's
# terminate() sent one to a worker still starting when a quick map was done (CI hung for 90 minutes on this test:
# the handler's KeyboardInterrupt escaped multiprocessing in the worker, which ran on in the caller's code, there
# the rest of the test suite). In a script of its own, so broken code cannot fork a second pytest.
SIGTERM_AT_FORK = """
import ctypes, functools, os, signal
from fmnist.augment import fork_map

def stop(signum, frame):  # as the CLI's train: SIGTERM stops the run and saves it
    raise KeyboardInterrupt

# C's raise() in the worker's own at-fork hook: the signal lands as the fork returns, where the outside one landed
# (a hook in Python would run the handler inside the hook, which ignores what it raises). The first worker only:
# raise(0) sends nothing.
sig = ctypes.c_int(signal.SIGTERM)
os.register_at_fork(after_in_child=functools.partial(getattr(ctypes.CDLL(None), "raise"), sig),
                    after_in_parent=lambda: setattr(sig, "value", 0))
signal.signal(signal.SIGTERM, stop)
print(fork_map(abs, [-1, -2, -3, -4, -5], workers=2), flush=True)
"""


def test_a_worker_signalled_as_it_starts_dies_without_running_the_callers_code():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", SIGTERM_AT_FORK], cwd=root, env={"PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "[1, 2, 3, 4, 5]\n", "")
