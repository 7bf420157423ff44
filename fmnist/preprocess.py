"""Any picture (a sketchpad drawing, a photo, an uploaded file) -> the 28x28 image the model sees,
made the way Fashion-MNIST itself was made (arXiv 1708.07747, section 2): trim to the object,
longest side to 28, centre, negate so the garment is light on black."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from fmnist.morphology import dilate, erode, fill_holes

SIZE = 28
# Pixels differing from the background by more than this (0..1) belong to the object; the paper
# trims "edges close to the colour of the corner pixels" with a 5 % threshold.
TRIM_THRESHOLD = 0.05
# Decoded-pixel cap: a small file claiming more pixels than this is refused before decoding.
MAX_PIXELS = 40_000_000
# A drawing whose strokes span less than this fraction of the canvas is a dot, a blob or a tiny sketch that
# the pen's width turns into a blob: the model calls blobs "Bag" at ~90 %. The sketch set's drawings span
# at least 35 %; a one-click dot with the app's thick pen spans 6 %.
MIN_DRAWING_EXTENT = 0.2
# Closed outlines are filled on a copy whose longest side is this many pixels.
FILL_SIDE = 56
# Images are shrunk to at most this side before any per-pixel work (speed on big photos).
WORK_SIDE = 512
EXIF_ORIENTATION = 0x0112


UNRECOGNISED, TOO_LARGE = "unrecognised", "too large"  # ImageError.problem: what the app can tell a student to do


class ImageError(ValueError):
    """A file or upload that cannot be turned into a picture (one line saying why). `kind` names what the file is
    when its first bytes say so and it is no picture the app reads ("an HEIC photo", "a PDF document", ...), else
    None; `problem` is UNRECOGNISED (no picture format at all) or TOO_LARGE (too many pixels), else None (unreadable
    for another reason: corrupt, truncated, cannot be opened)."""

    def __init__(self, message: str, kind: str | None = None, problem: str | None = None):
        super().__init__(message)
        self.kind, self.problem = kind, problem


class BlankImageError(ValueError):
    """Nothing drawn or no object found: there is nothing to classify."""


def open_image(source: str | os.PathLike | bytes | Image.Image) -> Image.Image:
    """Decode a path, bytes or PIL image into an upright image, 16-bit and float grey scaled to 8 bits
    (first frame of animations)."""
    if isinstance(source, Image.Image):
        img = source
    else:
        name = "upload" if isinstance(source, bytes) else str(source)
        try:
            fp = io.BytesIO(source) if isinstance(source, bytes) else Path(source).open("rb")
        except OSError as err:
            raise ImageError(f"{name}: cannot open ({err.strerror or err})") from None
        try:
            with fp:
                try:
                    img = Image.open(fp)
                except UnidentifiedImageError:
                    fp.seek(0)
                    kind = unreadable_kind(fp.read(256))
                    raise ImageError(f"{name}: {UNREADABLE.get(kind, NOT_RECOGNISED)}", kind, UNRECOGNISED) from None
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise ImageError(f"{name}: {w}x{h} pixels is too large (limit {MAX_PIXELS:,} pixels)",
                                     problem=TOO_LARGE)
                img.seek(0)
                if max(w, h) > WORK_SIDE:
                    img.draft(img.mode, (WORK_SIDE, WORK_SIDE))  # JPEG: decode at 1/2, 1/4, 1/8 scale
                img.load()
        except ImageError:
            raise
        except Image.DecompressionBombError:
            raise ImageError(f"{name}: too many pixels to decode safely", problem=TOO_LARGE) from None
        except (OSError, ValueError, SyntaxError, EOFError) as err:
            detail = str(err).replace(str(source), "").strip()[:120] if not isinstance(source, bytes) else str(err)[:120]
            raise ImageError(f"{name}: image file is corrupt or truncated ({detail})") from None
    if img.getexif().get(EXIF_ORIENTATION, 1) != 1:
        img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grey: scale to 8 bits by the image's own range.
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() if arr.max() > 255 else 255.0
        img = Image.fromarray((arr / top * 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray((np.clip(arr / max(arr.max(), 1e-12), 0, 1) * 255).astype(np.uint8), "L")
    return img


# ISO base media file brands of HEIF pictures: what an iPhone's camera saves (HEIC) unless set to "Most Compatible"
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


# What a file PIL cannot open is, by its first bytes (unreadable_kind), and the library's words for it
HEIC_PHOTO = "an HEIC photo"
UNREADABLE = {HEIC_PHOTO: "an HEIC photo (the iPhone camera's own format), which the app cannot read",
              "a PDF document": "a PDF document, not a picture",
              "an SVG drawing": "an SVG drawing, which the app cannot read",
              "a web page (HTML)": "a web page (HTML), not a picture"}
NOT_RECOGNISED = "not a readable image (format not recognised)"


def unreadable_kind(head: bytes) -> str | None:
    """The first bytes of a file that PIL cannot open -> what it is, as a key of UNREADABLE: an HEIC photo, a PDF, an
    SVG drawing or a saved web page (files students have at hand that are pictures to them), else None."""
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS and b"avif" not in head[8:32]:
        return HEIC_PHOTO
    if head.startswith(b"%PDF"):
        return "a PDF document"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<") and b"<svg" in text:
        return "an SVG drawing"
    if text.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML)"
    return None


def backdrop(rgba: Image.Image) -> tuple[int, int, int, int]:
    """The colour to flatten a transparent picture onto: white, or black for a light object (a white
    shirt cut out on a transparent background would vanish on white)."""
    alpha = np.asarray(rgba.getchannel("A"))
    solid = alpha > 128
    if solid.all() or not solid.any():
        return (255, 255, 255, 255)
    grey = np.asarray(rgba.convert("L"))
    return (0, 0, 0, 255) if float(grey[solid].mean()) > 160 else (255, 255, 255, 255)


def grey_on_white(img: Image.Image) -> Image.Image:
    """Any decoded picture -> 8-bit grey (ITU-R 601 luma), transparency flattened onto white (onto black
    for a light object, see backdrop), no larger than WORK_SIDE. Done in PIL's C code, grey before shrinking: a quarter of the work of RGBA."""
    if img.mode not in ("L", "RGB"):
        rgba = img if img.mode == "RGBA" else img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, backdrop(rgba)), rgba)
    grey = img.convert("L")
    if max(grey.size) > WORK_SIDE:
        grey.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    return grey


# A photo's background is read from a strip PHOTO_BORDER of its shorter side wide around its edge: a plane fitted to
# the strip (light falling off across a table or a sheet), the strip's pixels more than PHOTO_OUTLIER spreads from it
# left out (a garment or its shadow touching the edge), and its noise (a phone's grain, JPEG) kept off the ink.
# Measured on test images photographed back (fmnist.photos; README, *Uploaded photos*).
PHOTO_BORDER = 0.03
PHOTO_OUTLIER = 3.0
PHOTO_NOISE = 4.0  # ink below this many spreads of the strip's noise is background
PHOTO_MAX_NOISE = 10.0  # a spread above this is not grain but a background that is not one plane: no more is cut


def photo_background(grey: np.ndarray) -> tuple[float | np.ndarray, float]:
    """Grey photo (H, W) uint8 -> (the background's brightness: one number where it is even to within a grey level
    across the picture, else at each pixel (H, W) float32; its noise: the spread of the strip around the plane, 0 for a
    clean background). The plane is fitted to every few pixels of the strip (about 128 to a side). In a picture under
    16 pixels on a side the background is the corners' median brightness, as it was before the plane."""
    h, w = grey.shape
    if min(h, w) < 16:  # a sliver: too little edge to fit anything to
        return float(np.median([grey[0, 0], grey[0, w - 1], grey[h - 1, 0], grey[h - 1, w - 1]])), 0.0
    step = max(1, min(h, w) // 128)
    small = grey[::step, ::step]
    sh, sw = small.shape
    k = max(1, round(PHOTO_BORDER * min(sh, sw)))
    ring = np.zeros((sh, sw), bool)
    ring[:k], ring[-k:], ring[:, :k], ring[:, -k:] = True, True, True, True
    ys, xs = np.nonzero(ring)
    strip = small[ring].astype(np.float32)
    basis = np.stack([np.ones_like(strip), (xs * step) / w - 0.5, (ys * step) / h - 0.5], axis=1).astype(np.float32)
    coef = np.array([np.median(strip), 0.0, 0.0], np.float32)  # start from the strip's median: robust to a garment
    for _ in range(3):  # leave out what lies far from the fit, fit again
        off = np.abs(strip - basis @ coef)
        kept = off <= PHOTO_OUTLIER * 1.4826 * float(np.median(off)) + 2.0  # half the strip at least
        coef = np.linalg.lstsq(basis[kept], strip[kept], rcond=None)[0].astype(np.float32)
    spread = min(1.4826 * float(np.median(np.abs(strip - basis @ coef)[kept])), PHOTO_MAX_NOISE)
    if abs(coef[1]) + abs(coef[2]) < 1.0:
        return float(np.clip(coef[0], 0, 255)), spread
    field = (coef[0] + coef[1] * (np.arange(w, dtype=np.float32) / w - 0.5)[None, :]
             + coef[2] * (np.arange(h, dtype=np.float32) / h - 0.5)[:, None])
    return np.clip(field, 0, 255), spread


def ink_from_photo(grey: np.ndarray) -> np.ndarray:
    """Grey photo or scan (H, W) uint8 (see grey_on_white) -> ink (H, W) uint8, 0 = background.

    The background is photo_background's field; on a light one the picture is negated so the object comes out light
    on black, as in Fashion-MNIST; ink within PHOTO_NOISE spreads of the background's noise is background, and the
    contrast is stretched from there to full ink (black on a light background, white on a dark one).
    """
    field, noise = photo_background(grey)
    floor = PHOTO_NOISE * noise
    even = isinstance(field, float)  # then one lookup table serves every pixel
    g = np.arange(256, dtype=np.float32) if even else grey.astype(np.float32)
    if float(np.mean(field)) >= 128:
        ink, room = field - g, field
    else:
        ink, room = g - field, 255.0 - field
    ink = np.clip((ink - floor) * (255.0 / np.maximum(room - floor, 1.0)), 0, 255).astype(np.uint8)
    return ink[grey] if even else ink


def ink_from_drawing(rgba: np.ndarray) -> np.ndarray:
    """Sketch-layer RGBA (H, W, 4) uint8 -> ink (H, W) uint8: the strokes' opacity.

    Reading alpha rather than colour makes the light theme (white canvas) and the dark theme
    (#333333 canvas) give the same picture, whatever the brush colour. A contiguous copy: every later
    step reads it faster than the strided alpha plane (timings in README, Performance).
    """
    return np.ascontiguousarray(rgba[..., 3])


def _bounding_box(ink: np.ndarray, threshold: float) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the pixels above threshold (0..1), or None if there are none."""
    return _mask_box(ink > int(threshold * 255))


def _mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of a boolean mask's True pixels, or None if there are none."""
    rows, cols = mask.any(axis=1), mask.any(axis=0)
    if not rows.any():
        return None
    top, bottom = int(np.argmax(rows)), len(rows) - int(np.argmax(rows[::-1]))
    left, right = int(np.argmax(cols)), len(cols) - int(np.argmax(cols[::-1]))
    return top, bottom, left, right


# A mark on the pad is a stray (a click or a slip of the pen, not part of the garment) when empty pad parts it from the
# rest of the drawing (by at least 2 and, where the drawing's marks fall on cells STRAY_CELLS to the pad's longer side
# that are more than 3 apart, up to 4 cells: 16-32 pixels of the 448-pixel pad) and it holds under STRAY_SHARE of the
# ink. Measured on the sketch set (README, *A stray mark on the pad*).
STRAY_CELLS = 56
STRAY_SHARE = 0.1


def _widest_gap(inked_rows: np.ndarray) -> int:
    """Which rows (or columns) have ink, bool -> the most empty rows between two inked ones (0 when there are none)."""
    inked = np.flatnonzero(inked_rows)
    return int(np.diff(inked).max()) - 1 if len(inked) > 1 else 0


def _components(cells: np.ndarray) -> np.ndarray:
    """Boolean (h, w) -> int (h, w): for each True cell the smallest index of the cells 8-connected to it (h * w off the
    mask). Each pass gives every cell's label, and the cell that label names, the least label of the cell's 3x3
    neighbourhood, then replaces each label by its label's label (pointer jumping): a few passes on the pad's cells."""
    h, w = cells.shape
    off = h * w
    on = cells.ravel()
    labels = np.where(on, np.arange(off), off)
    ring = np.full((h + 2, w + 2), off)
    while True:  # the least of each 3x3 neighbourhood: of each 3 rows, then of each 3 columns of that
        ring[1:-1, 1:-1] = labels.reshape(h, w)
        rows = np.minimum(np.minimum(ring[:-2], ring[1:-1]), ring[2:])
        least = np.minimum(np.minimum(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:]).ravel()
        joined = np.append(np.where(on, least, off), off)
        np.minimum.at(joined, labels[on], least[on])  # the labelled cell takes the least label its cells see
        for _ in range(2):
            joined = joined[joined]
        joined = joined[:-1]
        if np.array_equal(joined, labels):
            return labels.reshape(h, w)
        labels = joined


def drawing_box(ink: np.ndarray, threshold: float = TRIM_THRESHOLD) -> tuple[int, int, int, int] | None:
    """A drawing's ink (H, W) uint8 -> (top, bottom, left, right) of the drawing without its stray marks, or None when
    nothing is drawn (drawing_parts' box)."""
    return drawing_parts(ink, threshold)[0]


def drawing_parts(ink: np.ndarray, threshold: float = TRIM_THRESHOLD
                  ) -> tuple[tuple[int, int, int, int] | None, list[tuple[float, float]]]:
    """A drawing's ink (H, W) uint8 -> (the box of the drawing without its stray marks, or None when nothing is
    drawn; where each stray mark left out lies, (x, y) as fractions of the pad's width and height). A mark outside
    the garment leaves an empty gap across the rows or the columns; where no gap is wider than two cells, the box is
    the ink's (about 0.2 ms on the 448-pixel pad). Otherwise the marks are grouped on the cells, those near each other
    together (a dotted chain, rows of colouring in, a sandal's straps stay one group), and groups with under
    STRAY_SHARE of the ink are left out, the largest never."""
    mask = ink > int(threshold * 255)
    box = _mask_box(mask)
    if box is None:
        return None, []
    top, bottom, left, right = box
    crop = mask[top:bottom, left:right]
    cell = max(2, round(max(mask.shape) / STRAY_CELLS))
    if max(_widest_gap(crop.any(axis=1)), _widest_gap(crop.any(axis=0))) <= 2 * cell:
        return box, []
    ch, cw = -(-crop.shape[0] // cell), -(-crop.shape[1] // cell)
    grid = np.zeros((ch * cell, cw * cell), np.uint16)
    grid[:crop.shape[0], :crop.shape[1]] = crop
    counts = grid.reshape(ch, cell, cw * cell).sum(axis=1).reshape(ch, cw, cell).sum(axis=2)
    inked = counts > 0
    labels = _components(dilate(inked, 3))  # cells up to 3 apart make one group
    groups, which = np.unique(labels[inked], return_inverse=True)
    mass = np.bincount(which, weights=counts[inked])
    big = mass >= STRAY_SHARE * mass.sum()
    if big.all():
        return box, []
    kept = np.isin(labels, groups[big | (mass == mass.max())]) & inked
    kept = np.repeat(np.repeat(kept, cell, axis=0), cell, axis=1)[:crop.shape[0], :crop.shape[1]] & crop
    r0, r1, c0, c1 = _mask_box(kept)
    box = top + r0, top + r1, left + c0, left + c1
    strays = []
    for group in groups[~big & (mass < mass.max())]:
        rows, cols = np.nonzero((labels == group) & inked)
        y, x = top + (rows.mean() + 0.5) * cell, left + (cols.mean() + 0.5) * cell
        if not (box[0] <= y < box[1] and box[2] <= x < box[3]):  # one inside the drawing's box is drawn anyway
            strays.append((min(float(x) / mask.shape[1], 1.0), min(float(y) / mask.shape[0], 1.0)))
    return box, strays


def fill_enclosed(ink: np.ndarray, threshold: int = 64) -> np.ndarray:
    """Ink (H, W) uint8 with every region that strokes enclose painted in (a closed outline -> a silhouette;
    see `fmnist.morphology.fill_holes` for when an outline counts as closed)."""
    wall = ink > threshold
    enclosed = fill_holes(wall) & ~wall
    return np.where(enclosed, 255, ink).astype(np.uint8)


def thicken(ink: np.ndarray, width: int) -> np.ndarray:
    """Ink (H, W) uint8 with every stroke widened by width - 1 pixels (a width x width maximum filter)."""
    return dilate(ink, width)


def stroke_width(ink: np.ndarray, threshold: int = 64) -> int:
    """About how wide the strokes of a drawing are, in pixels: twice the inked area over the number of
    edge pixels (an outline of width w and length L has area ~L*w and ~2L edge pixels); a filled
    shape comes out as wide as its body."""
    mask = ink > threshold
    inner = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    area = np.count_nonzero(mask)
    return round(2 * area / max(area - np.count_nonzero(inner), 1))


BARE_MIXED = 0.06  # inside a solid shape, a share of gaps above this is something rubbed out of it
BARE_MIN_INSIDE = 10  # model pixels: less inside than this is a line or a scribble, not a shape
BARE_FAINT, BARE_SOLID = 24, 160  # a model pixel above BARE_FAINT is part of the shape; below BARE_SOLID, a gap in it


def bare_shape(image28: np.ndarray) -> bool:
    """Whether a preprocessed drawing (28, 28) uint8 is a bare shape: a solid silhouette with nothing rubbed out of
    it that the model can see. Its inside (the shape with what it encloses, less a one-pixel rim; BARE_MIN_INSIDE
    pixels at least) has gaps in at most BARE_MIXED of it. On the sketch set's tops (2026-12-05): 113 of the 119 filled
    ones drawn without details count as bare, 30 of the 91 with details rubbed out (those rubbed out with a pen too
    thin to leave a gap at 28x28). An outline is never called bare: at 28x28 a sleeve hanging beside the body closes a
    gap whose edges look like lines drawn inside it."""
    body = fill_holes(image28 > BARE_FAINT)  # faint ink too: a line rubbed out from edge to edge leaves a grey trace
    inside = erode(body, 3)
    area, gaps = np.count_nonzero(inside), np.count_nonzero(inside & (image28 < BARE_SOLID))
    return bool(area >= BARE_MIN_INSIDE and gaps <= BARE_MIXED * area)


def ink_to_model_image(ink: np.ndarray, threshold: float = TRIM_THRESHOLD,
                       box: tuple[int, int, int, int] | None = None, fill: bool = False,
                       min_stroke: bool = False) -> np.ndarray:
    """Ink (H, W) uint8 -> uint8 (28, 28): trimmed to the object, longest side 28, centred;
    with min_stroke, strokes thinner than one model pixel are first widened to about that (a thin pen on
    a big drawing would otherwise fade to a faint grey line, unlike the solid outlines the model knows); with fill,
    closed outlines are painted in (on a 56-pixel copy, for speed)."""
    box = box or _bounding_box(ink, threshold)
    if box is None:
        raise BlankImageError("nothing to classify: the picture is blank (draw or upload a garment)")
    top, bottom, left, right = box
    crop = np.ascontiguousarray(ink[top:bottom, left:right])
    width = round(max(crop.shape) / SIZE) - stroke_width(crop) if min_stroke else 0
    if width > 1:
        crop = thicken(np.pad(crop, width // 2), width)  # padded: strokes on the edge grow outwards too
    if fill:
        h, w = crop.shape
        k = min(1.0, FILL_SIDE / max(h, w))
        small = Image.fromarray(crop, "L").resize((max(1, round(w * k)), max(1, round(h * k))),
                                                  Image.Resampling.BOX)
        crop = fill_enclosed(np.pad(np.asarray(small), 1))[1:-1, 1:-1]
    h, w = crop.shape
    scale = SIZE / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    small = Image.fromarray(crop, "L").resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=2.0)
    out = np.zeros((SIZE, SIZE), np.uint8)
    y0, x0 = (SIZE - new_h) // 2, (SIZE - new_w) // 2
    out[y0:y0 + new_h, x0:x0 + new_w] = np.asarray(small)
    peak = out.max()
    if peak == 0:
        raise BlankImageError("nothing to classify: the marks are too faint to see at 28x28")
    # Thin strokes fade when shrunk; stretch so the brightest pixel is white, as in the dataset.
    return (out.astype(np.float32) * (255.0 / peak)).round().astype(np.uint8)


def is_dataset_image(img: Image.Image) -> bool:
    """True for a 28x28 greyscale picture that is already light-on-black (a Fashion-MNIST image)."""
    if img.size != (SIZE, SIZE):
        return False
    rgba = np.asarray(img.convert("RGBA"))
    arr = np.asarray(img.convert("L"))
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    return float(np.median(border)) < 128 and bool(rgba[..., 3].min() == 255)


def preprocess_image(source: str | os.PathLike | bytes | Image.Image) -> np.ndarray:
    """A photo, scan or image file -> uint8 (28, 28) light-on-black, as the model sees it."""
    img = open_image(source)
    if is_dataset_image(img):
        return np.asarray(img.convert("L")).copy()
    ink = ink_from_photo(np.asarray(grey_on_white(img)))
    return ink_to_model_image(ink, box=drawing_box(ink))  # a speck of grain or dust away from the garment: left out


def preprocess_drawing(rgba: np.ndarray, fill: bool = False) -> np.ndarray:
    """A sketchpad drawing's layers (H, W, 4) uint8 RGBA -> uint8 (28, 28) light-on-black;
    fill paints in closed outlines, so an outline drawing looks like the dataset's solid garments."""
    return drawing_and_strays(rgba, fill)[0]


def drawing_and_strays(rgba: np.ndarray, fill: bool = False) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """preprocess_drawing, and where on the pad the stray marks it left out lie ((x, y) as fractions of the pad's
    width and height; none for most drawings), for the app to say so."""
    if rgba is None or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise BlankImageError("nothing to classify: no drawing")
    ink = ink_from_drawing(rgba)
    box, strays = drawing_parts(ink)  # a click beside the drawing must not shrink it into a corner of the 28x28 image
    if box is not None and max(box[1] - box[0], box[3] - box[2]) < MIN_DRAWING_EXTENT * max(ink.shape):
        raise BlankImageError("that is too small to be a garment (a dot or a blob): draw a whole garment, "
                              "at least a fifth of the pad wide or high")
    return ink_to_model_image(ink, box=box, fill=fill, min_stroke=True), strays


def preprocess_sketch(layers: list[np.ndarray] | None, background: np.ndarray | None = None,
                      fill: bool = False) -> np.ndarray:
    """The sketchpad's value (its stroke layers, and any picture pasted as background) -> uint8 (28, 28).

    Strokes are read from the layers' alpha; with no strokes, a background picture is read like a photo.
    """
    arrays = [a for a in (layers or []) if isinstance(a, np.ndarray) and a.ndim == 3 and a.shape[2] == 4]
    if arrays and any(a[..., 3].any() for a in arrays):
        merged = arrays[0].copy()
        for a in arrays[1:]:
            merged[..., 3] = np.maximum(merged[..., 3], a[..., 3])
        return preprocess_drawing(merged, fill=fill)
    if isinstance(background, np.ndarray) and background.ndim == 3 and np.ptp(background[..., :3]) > 0:
        rgba = background if background.shape[2] == 4 else np.dstack(
            [background, np.full(background.shape[:2], 255, np.uint8)])
        return preprocess_image(Image.fromarray(rgba, "RGBA"))
    raise BlankImageError("nothing to classify: the canvas is empty (draw a garment)")
