"""Every kind of picture a public app receives gives a sensible 28x28 or one clear error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fmnist.preprocess import MAX_PIXELS, BlankImageError, ImageError, preprocess_image


def garment(mode: str, size=(120, 160)) -> Image.Image:
    """A dark trouser-like shape on white (or transparent), converted to `mode`."""
    img = Image.new("RGBA", size, (255, 255, 255, 0))
    ImageDraw.Draw(img).polygon([(35, 10), (85, 10), (95, 150), (70, 150), (60, 50), (50, 150), (25, 150)],
                                fill=(20, 20, 60, 255))
    return img if mode == "RGBA" else img.convert(mode) if mode != "LA" else img.convert("LA")


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def check(out: np.ndarray) -> None:
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert out.max() == 255 and out[0, 0] == 0 and out[27, 27] == 0  # light object on black


@pytest.mark.parametrize("mode", ["RGBA", "LA", "RGB", "L", "CMYK", "1"])
def test_modes(mode):
    check(preprocess_image(encode(garment(mode), "TIFF" if mode == "CMYK" else "PNG")))


def test_palette_with_transparency():
    """A palette PNG whose transparent index is red: read as transparent (flattened onto white) it is the
    garment on white; read as its palette colour, the red background would swallow the garment."""
    rgba = garment("RGBA")
    img = Image.new("P", rgba.size, 0)
    img.putpalette([255, 0, 0, 20, 20, 60] + [0] * (3 * 254))
    img.paste(1, mask=rgba.getchannel("A"))
    data = encode(img, "PNG", transparency=0)
    stored = Image.open(io.BytesIO(data))
    assert stored.mode == "P" and stored.info.get("transparency") == 0  # really a palette with a transparent index
    out = preprocess_image(data)
    check(out)
    assert np.abs(out.astype(int) - preprocess_image(encode(rgba, "PNG"))).mean() < 3


def test_16_bit_grey():
    arr = (np.asarray(garment("L"), dtype=np.uint16) * 257).astype(np.uint16)
    img = Image.fromarray(arr)
    assert img.mode.startswith("I;16")
    check(preprocess_image(encode(img, "PNG")))


def test_animated_gif_uses_first_frame():
    frames = [garment("RGB").convert("P"), Image.new("P", (120, 160), 255)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    check(preprocess_image(data))


def test_exif_rotation_is_applied():
    upright = garment("RGB", size=(120, 160))
    rotated = upright.rotate(90, expand=True)  # stored sideways...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with "rotate 90 CW to display" in its EXIF
    a = preprocess_image(encode(upright, "JPEG", quality=95))
    b = preprocess_image(encode(rotated, "JPEG", quality=95, exif=exif.tobytes()))
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 12


@pytest.mark.parametrize("grey", [0, 100, 255])
@pytest.mark.parametrize("size", [(1, 1), (2000, 3), (3, 2000)])
def test_uniform_tiny_and_extreme_aspect_pictures_are_blank(size, grey):
    with pytest.raises(BlankImageError):  # nothing in them: a clear "blank" answer, not a guess
        preprocess_image(encode(Image.new("L", size, grey), "PNG"))


@pytest.mark.parametrize("size", [(2000, 3), (3, 2000)])
def test_a_line_in_an_extreme_aspect_picture_fills_the_long_side(size):
    img = Image.new("L", size, 255)
    wide = size[0] > size[1]
    ImageDraw.Draw(img).line([(500, 1), (1500, 1)] if wide else [(1, 500), (1, 1500)], fill=0)
    out = preprocess_image(encode(img, "PNG"))
    assert out.shape == (28, 28) and out.max() == 255
    ys, xs = np.nonzero(out > 128)
    along, across = (xs, ys) if wide else (ys, xs)
    assert along.min() == 0 and along.max() == 27 and across.max() - across.min() <= 1


def test_thin_line_extreme_aspect_is_centred():
    img = Image.new("L", (2000, 40), 255)
    ImageDraw.Draw(img).rectangle([(100, 10), (1900, 30)], fill=0)
    out = preprocess_image(encode(img, "PNG"))
    rows = np.nonzero(out.max(axis=1))[0]
    assert out.shape == (28, 28) and 12 <= rows.mean() <= 15


def test_decompression_bomb_is_refused_fast():
    import time
    import tracemalloc

    side = int((MAX_PIXELS * 2.5) ** 0.5)  # about 100 M pixels, a small file
    data = encode(Image.new("1", (side, side), 1), "PNG")
    assert len(data) < 2_000_000
    tracemalloc.start()
    t = time.perf_counter()
    with pytest.raises(ImageError, match="too large"):
        preprocess_image(data)
    elapsed = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # Refused from the header alone: milliseconds and a few MB, against seconds and ~100 MB to decode it.
    # The memory bound is the real check (deterministic); the time bound is generous because a shared CI
    # machine can stall any process for a while.
    assert peak < 50_000_000 and elapsed < 10


@pytest.mark.parametrize("payload", [b"", b"GIF89a", b"\xff\xd8\xff\xe0" + b"\x00" * 50, b"<svg></svg>"])
def test_garbage_is_one_clear_error(payload):
    with pytest.raises(ImageError):
        preprocess_image(payload)
