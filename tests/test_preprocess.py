"""Pictures -> the 28x28 model input, Fashion-MNIST style; bad pictures give one clear error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fmnist.preprocess import (TOO_LARGE, UNRECOGNISED, BlankImageError, ImageError, bare_shape, preprocess_drawing,
                               preprocess_image)


def photo(size=(300, 200), box=(100, 40, 160, 180), bg=(255, 255, 255, 255), fg=(30, 30, 120, 255)):
    img = Image.new("RGBA", size, bg)
    ImageDraw.Draw(img).rectangle(box, fill=fg)
    return img


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_photo_is_trimmed_scaled_centred_and_negated():
    out = preprocess_image(photo())
    assert out.shape == (28, 28) and out.dtype == np.uint8
    ys, xs = np.nonzero(out > 128)
    assert ys.min() == 0 and ys.max() == 27  # the tall object's longest side fills 28 pixels
    assert abs((xs.min() + xs.max()) / 2 - 13.5) <= 1  # centred horizontally
    assert out[0, 0] == 0 and out.max() == 255  # light garment on black


def test_transparent_background_is_flattened_onto_white():
    transparent = photo(bg=(0, 0, 0, 0))
    assert np.array_equal(preprocess_image(transparent), preprocess_image(photo()))


def test_dark_background_is_not_negated():
    light_on_dark = photo(bg=(0, 0, 0, 255), fg=(220, 220, 220, 255))
    out = preprocess_image(light_on_dark)
    assert out[0, 0] == 0 and out[14, 14] == 255


def test_dataset_image_passes_unchanged():
    arr = np.zeros((28, 28), np.uint8)
    arr[5:20, 9:18] = np.arange(15 * 9, dtype=np.uint8).reshape(15, 9) + 60
    assert np.array_equal(preprocess_image(png_bytes(Image.fromarray(arr, "L"))), arr)


def test_drawing_reads_alpha_so_themes_agree():
    light = np.zeros((400, 400, 4), np.uint8)
    light[100:300, 150:250] = (0, 0, 0, 255)  # black brush on the light theme
    dark = light.copy()
    dark[100:300, 150:250] = (255, 255, 255, 255)  # white brush on the dark theme
    assert np.array_equal(preprocess_drawing(light), preprocess_drawing(dark))


@pytest.mark.parametrize("rgba", [np.zeros((200, 200, 4), np.uint8), None])
def test_blank_drawing_says_draw_something(rgba):
    with pytest.raises(BlankImageError, match="blank|no drawing"):
        preprocess_drawing(rgba)


def test_blank_photo_is_blank():
    with pytest.raises(BlankImageError):
        preprocess_image(Image.new("RGB", (50, 50), "white"))


@pytest.mark.parametrize("payload", [b"", b"hello, this is text", b"\x89PNG\r\n\x1a\n" + b"\0" * 20])
def test_unreadable_bytes_are_an_image_error(payload):
    with pytest.raises(ImageError, match="upload") as caught:
        preprocess_image(payload)
    assert caught.value.problem == UNRECOGNISED  # a PNG signature and nothing after it too: no format PIL can open


def test_truncated_png_is_an_image_error():
    data = png_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)))
    with pytest.raises(ImageError, match="corrupt or truncated|not a readable") as caught:
        preprocess_image(data[: len(data) // 2])
    assert caught.value.problem != TOO_LARGE


def test_missing_file_is_an_image_error(tmp_path):
    with pytest.raises(ImageError, match="cannot open"):
        preprocess_image(tmp_path / "missing.png")


def test_huge_image_is_refused_before_decoding():
    big = Image.new("L", (10000, 5000), 255)  # 50 M pixels, a few kB as PNG
    with pytest.raises(ImageError, match="too large") as caught:
        preprocess_image(png_bytes(big))
    assert caught.value.problem == TOO_LARGE


def test_thin_strokes_on_a_big_drawing_are_widened_to_a_model_pixel_but_solid_shapes_are_not():
    from fmnist.preprocess import ink_to_model_image, stroke_width

    canvas = np.zeros((448, 448, 4), np.uint8)
    canvas[20:430, 60:380, 3] = 255
    solid = canvas.copy()
    canvas[24:426, 64:376, 3] = 0  # a 4-pixel outline of a 410-pixel rectangle
    assert stroke_width(canvas[..., 3]) == 4 and stroke_width(solid[..., 3]) > 100
    thin = ink_to_model_image(canvas[..., 3])  # shrunk as it is: a 0.3-pixel line
    drawn = preprocess_drawing(canvas)
    assert (drawn >= 200).sum() > 2 * (thin >= 200).sum()  # a solid ring instead of grey dashes
    assert drawn[4:24, 8:20].max() == 0  # the inside stays empty
    assert np.array_equal(preprocess_drawing(solid), ink_to_model_image(solid[..., 3]))


# A long-sleeved top from the front on the 448-pixel pad: the outline shared by a shirt, a pullover and a coat.
LONG_TOP = [(224, 60), (180, 50), (110, 80), (60, 380), (110, 395), (140, 170), (140, 400), (308, 400), (308, 170),
            (338, 395), (388, 380), (338, 80), (268, 50)]


def pad(draw) -> np.ndarray:
    """An RGBA pad with what draw(ImageDraw on the alpha channel) inks."""
    alpha = Image.new("L", (448, 448), 0)
    draw(ImageDraw.Draw(alpha))
    layer = np.zeros((448, 448, 4), np.uint8)
    layer[..., 3] = np.asarray(alpha)
    return layer


@pytest.mark.parametrize("name,draw,bare", [
    ("solid silhouette", lambda d: d.polygon(LONG_TOP, fill=255), True),
    ("silhouette coloured in over its outline", lambda d: (d.polygon(LONG_TOP, fill=255),
                                                           d.line(LONG_TOP + LONG_TOP[:1], fill=255, width=16)), True),
    ("outline (never judged bare: see bare_shape)", lambda d: d.line(LONG_TOP + LONG_TOP[:1], fill=255, width=8),
     False),
    ("outline with a placket and a collar", lambda d: (d.line(LONG_TOP + LONG_TOP[:1], fill=255, width=8),
                                                       d.line([(224, 60), (224, 400)], fill=255, width=8),
                                                       d.line([(180, 50), (205, 100), (224, 60), (243, 100),
                                                               (268, 50)], fill=255, width=8)), False),
    ("outline with a pocket", lambda d: (d.line(LONG_TOP + LONG_TOP[:1], fill=255, width=8),
                                         d.rectangle((170, 200, 210, 240), outline=255, width=8)), False),
    ("silhouette with a zip rubbed out", lambda d: (d.polygon(LONG_TOP, fill=255),
                                                    d.line([(224, 60), (224, 400)], fill=0, width=20)), False),
    ("silhouette with a pocket rubbed out", lambda d: (d.polygon(LONG_TOP, fill=255),
                                                       d.rectangle((170, 200, 215, 245), outline=0, width=16)), False),
    ("one stroke: no shape", lambda d: d.line([(60, 60), (380, 380)], fill=255, width=10), False),
])
def test_a_bare_shape_is_told_from_one_with_something_drawn_in_it(name, draw, bare):
    """What the Predict tab calls a top drawn as a bare shape (a silhouette with no collar, buttons, zip or pocket
    rubbed out of it to tell which), on the model's 28x28 input."""
    assert bare_shape(preprocess_drawing(pad(draw))) is bare, name


def _pad(*marks) -> np.ndarray:
    """A 448-pixel pad (RGBA) with the given marks drawn in black: ("line", points, width) or ("dot", (x, y), r)."""
    from PIL import ImageDraw

    img = Image.new("RGBA", (448, 448), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    for kind, where, size in marks:
        if kind == "line":
            draw.line(where, fill=(0, 0, 0, 255), width=size, joint="curve")
        else:
            draw.ellipse([where[0] - size, where[1] - size, where[0] + size, where[1] + size], fill=(0, 0, 0, 255))
    return np.asarray(img).copy()


TROUSERS = ("line", [(150, 80), (290, 80), (300, 380), (240, 380), (220, 180), (200, 380), (140, 380), (150, 80)], 8)


@pytest.mark.parametrize("stray", [("dot", (420, 30), 6), ("dot", (25, 430), 3), ("dot", (420, 420), 9),
                                   ("line", [(20, 20), (50, 35)], 8), ("line", [(400, 250), (430, 290)], 4)])
def test_a_stray_mark_beside_a_drawing_is_left_out(stray):
    from fmnist.preprocess import drawing_and_strays, drawing_box, ink_from_drawing

    alone, none = drawing_and_strays(_pad(TROUSERS))
    image28, strays = drawing_and_strays(_pad(TROUSERS, stray))
    assert np.array_equal(image28, alone) and none == []
    x, y = np.mean(np.atleast_2d(stray[1]), axis=0) / 448  # where the mark is, as a fraction of the pad
    assert len(strays) == 1 and abs(strays[0][0] - x) < 0.03 and abs(strays[0][1] - y) < 0.03, strays
    assert drawing_box(ink_from_drawing(_pad(stray, TROUSERS))) == drawing_box(ink_from_drawing(_pad(TROUSERS)))
    small = np.asarray(Image.fromarray(_pad(TROUSERS, stray)).resize((224, 224), Image.Resampling.BOX))
    assert np.array_equal(preprocess_drawing(small),  # as the pad sends it: half the side
                          preprocess_drawing(np.asarray(Image.fromarray(_pad(TROUSERS)).resize((224, 224), Image.Resampling.BOX))))


def test_parts_of_a_drawing_that_stand_apart_are_kept():
    from fmnist.preprocess import drawing_box, drawing_parts, ink_from_drawing

    def box(*marks):
        found, strays = drawing_parts(ink_from_drawing(_pad(*marks)))
        assert strays == [] and found == drawing_box(ink_from_drawing(_pad(*marks)))  # nothing said to be left out
        return found

    shoe = [(40, 300), (60, 250), (150, 240), (190, 300), (40, 300)]
    pair = box(("line", shoe, 8), ("line", [(x + 220, y) for x, y in shoe], 8))  # two shoes, far apart, both big
    assert pair[2] < 40 and pair[3] > 400
    bag = ("line", [(120, 250), (330, 250), (330, 400), (120, 400), (120, 250)], 10)
    chain = [("dot", (120 + 210 * t, 240 - 130 * np.sin(np.pi * t)), 4) for t in np.linspace(0, 1, 21)]
    assert box(bag, *chain)[0] < 115  # a handle drawn as a dotted chain: every link near the next
    stripes = [("line", [(100, y), (340, y)], 12) for y in range(100, 380, 30)]  # coloured in row by row
    ink = ink_from_drawing(_pad(*stripes))
    assert box(*stripes) == (ink.any(axis=1).argmax(), 448 - ink.any(axis=1)[::-1].argmax(),
                             ink.any(axis=0).argmax(), 448 - ink.any(axis=0)[::-1].argmax())  # every row kept
    button = ("dot", (225, 230), 6)
    assert box(TROUSERS, button) == box(TROUSERS)  # inside: never touched
    near = ("dot", (315, 230), 5)  # a pocket's button just beside the leg: 10 pixels of pad apart
    assert box(TROUSERS, near)[3] > box(TROUSERS)[3]
    two = drawing_parts(ink_from_drawing(_pad(TROUSERS, ("dot", (420, 30), 6), ("dot", (25, 430), 3))))[1]
    assert len(two) == 2 and sorted(round(x) for x, _ in two) == [0, 1]  # two strays: each named, not one for both


def test_a_dot_with_a_speck_far_away_is_still_too_small_to_be_a_garment():
    with pytest.raises(BlankImageError, match="too small to be a garment"):  # the speck no longer stretches the box
        preprocess_drawing(_pad(("dot", (40, 40), 10), ("dot", (400, 380), 2)))
