"""Training-time augmentation: mirror images and small shifts, plus renderings that make photos look
like what students draw (filled silhouettes and outlines of varied stroke width)."""

from __future__ import annotations

import math
import multiprocessing
import signal

import contourpy
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from fmnist.data import remember_last, to_float
from fmnist.morphology import dilate, erode, fill_holes
from fmnist.polyline import simplify
from fmnist.preprocess import fill_enclosed, ink_to_model_image

INK = 0.1  # pixels brighter than this (0..1) belong to the garment's silhouette
FILLED, OUTLINED = 0.25, 0.25  # share of each batch drawn as filled silhouettes / as outlines
# TrainConfig.shapes: every image a filled silhouette or an outline, half each: what a net can tell from shape alone
SHAPES_ONLY = (0.5, 0.5)
# With hand-drawn renderings: shares of photos, renderings, edge drawings, filled silhouettes and outlines.
DRAWN_SHARES = (0.45, 0.3, 0.15, 0.05, 0.05)


def silhouettes(x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Images (N, 1, H, W) in [0, 1] -> their filled silhouettes (float 0/1), computed once per run (not per
    step); holes are filled as the app's "Fill closed outlines" and the sketch set fill them."""
    return torch.cat([fill_holes(part > INK).float() for part in x.split(chunk)]) if len(x) else x.clone()


@remember_last
def dataset_silhouettes(images: torch.Tensor) -> torch.Tensor:
    """`silhouettes` of a dataset's images (uint8 (N, 28, 28)) as uint8 0/1 masks (N, 1, 28, 28), kept for
    the last dataset asked about (47 MB for Fashion-MNIST's 60,000): seconds of CPU, so in the app
    only the first augmented run waits for them."""
    return silhouettes(to_float(images, mean=0.0, std=1.0)).to(torch.uint8)


def squash(x: torch.Tensor, generator: torch.Generator, low: float = 0.8) -> torch.Tensor:
    """Images (N, 1, H, W) each narrowed or flattened about the centre by a random factor in [low, 1]:
    drawings come in other proportions than the garments, and the app's crop keeps the drawn aspect."""
    n = len(x)
    factor = low + (1 - low) * torch.rand(n, generator=generator)
    narrow = torch.rand(n, generator=generator) < 0.5
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = 1 / torch.where(narrow, factor, torch.ones(n))
    theta[:, 1, 1] = 1 / torch.where(narrow, torch.ones(n), factor)
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def sketch_augment(x: torch.Tensor, masks: torch.Tensor, generator: torch.Generator,
                   drawn: torch.Tensor | None = None, erase: float = 0.0,
                   shares: tuple[float, float] = (FILLED, OUTLINED)) -> torch.Tensor:
    """Images (N, 1, 28, 28) in [0, 1] and their `silhouettes` -> a share shares[0] (FILLED) of them as filled
    silhouettes, shares[1] (OUTLINED) as outlines 1-3 pixels wide (both `squash`ed), the rest unchanged; half
    mirrored left-right, and the batch shifted by up to 2 pixels. SHAPES_ONLY as shares leaves no photo.

    With `drawn` (one `hand_drawn` rendering per image, float (N, 1, 28, 28) in [0, 1]) the shares are
    DRAWN_SHARES instead: photos, hand-drawn renderings, `edge_drawings`, filled silhouettes, outlines (the last
    three squashed). `erase` is the chance that a photo gets a `random_erase`d rectangle."""
    n = len(x)
    kind = torch.rand(n, generator=generator).to(x.device).view(n, 1, 1, 1)
    thick = (torch.rand(n, generator=generator) < 0.5).to(x.device).view(n, 1, 1, 1)
    mirror = (torch.rand(n, generator=generator) < 0.5).to(x.device).view(n, 1, 1, 1)
    inside = masks > 0
    outline = masks * ~torch.where(thick, erode(inside, 5), erode(inside, 3))
    photos = random_erase(x, generator, erase) if erase > 0 else x
    if drawn is None:
        filled, outlined = shares
        sketched = torch.where(kind < filled, masks, outline)
        out = torch.where(kind < filled + outlined, squash(sketched, generator), photos)
    else:
        photo, hand, edged, filled = DRAWN_SHARES[:4]
        sketched = torch.where(kind < photo + hand + edged, edge_drawings(x, masks, outline, generator),
                               torch.where(kind < photo + hand + edged + filled, masks, outline))
        out = torch.where(kind < photo, photos, torch.where(kind < photo + hand, drawn, squash(sketched, generator)))
    out = torch.where(mirror, out.flip(-1), out)
    dy, dx = torch.randint(-2, 3, (2,), generator=generator).tolist()
    return torch.roll(out, shifts=(dy, dx), dims=(2, 3))


def edge_drawings(x: torch.Tensor, masks: torch.Tensor, outline: torch.Tensor,
                  generator: torch.Generator) -> torch.Tensor:
    """Images (N, 1, 28, 28) in [0, 1], their `silhouettes` and outlines -> line drawings (float 0/1): the
    outline plus the photo's strong edges inside the garment (Sobel magnitude above a random 30-60 % of the
    image's strongest inner edge), which is where a drawer puts a zip, a collar, a placket, a pocket or the
    line between a sleeve and the body."""
    n = len(x)
    sobel = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], device=x.device).view(1, 1, 3, 3)
    gx, gy = F.conv2d(x, sobel, padding=1), F.conv2d(x, sobel.transpose(2, 3), padding=1)
    magnitude = (gx * gx + gy * gy).sqrt()
    inner = erode(masks > 0, 5)
    strongest = (magnitude * inner).flatten(1).amax(1).view(n, 1, 1, 1)
    level = (0.3 + 0.3 * torch.rand(n, generator=generator)).to(x.device).view(n, 1, 1, 1)
    lines = inner & (magnitude > level * strongest) & (magnitude > 0.1)  # 0.1: not float noise on a flat garment
    return torch.maximum(outline, lines.float())


def preview(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A few uint8 training images (N, 28, 28) as `sketch_augment` hands them to the network: float
    (N, 28, 28) in [0, 1]. For showing students what the augmentation does; the silhouettes of N images
    take a moment, not the whole dataset's seconds."""
    x = to_float(images, mean=0.0, std=1.0)
    return sketch_augment(x, silhouettes(x), torch.Generator().manual_seed(seed))[:, 0]


# ---- Hand-drawn renderings: what a student's pen makes of a garment --------------------------------------------
# A person draws the outer contour with a few straight strokes (not the silhouette's every pixel), sometimes an
# interior line or two (a collar, the gap between trouser legs, laces), with a thin or a thick pen, sometimes
# colours it in, tilts a shoe, and the app then crops and shrinks the canvas. `hand_drawn` does that to a training
# image and hands the result through the app's own `ink_to_model_image`, so training sees what the Predict tab sees.
SHOES = (5, 7, 9)  # Sandal, Sneaker, Ankle boot: drawn from the side, often tilted
HAND_SIDE = 224  # canvas pixels the renderings are drawn on
HAND_VARIANTS = 2  # renderings kept per training image (each epoch picks one)


def _contours(z: np.ndarray, level: float) -> list[np.ndarray]:
    """Iso-lines of a 2-D array at `level` as (M, 2) arrays of (x, y) pixel coordinates (the array padded
    by one zero pixel, so a shape touching the border still closes)."""
    lines = contourpy.contour_generator(z=np.pad(z, 1), line_type="Separate").lines(level)
    return [line - 1 for line in lines if len(line) > 3]


def colour_in(shape: np.ndarray, pen: int, rng: np.random.Generator) -> np.ndarray:
    """A boolean silhouette (H, W) -> the ink (bool (H, W)) of colouring it in the way a sketchpad allows: no paint
    bucket, so one zigzag stroke `pen` pixels wide goes back and forth across the shape at a random angle, its rows
    0.8-2.2 pens apart (touching, or with gaps of the background between them), each row stopping short of the edge
    or running past it by up to half a pen (never further: a row does not bridge the gap between trouser legs)."""
    ys, xs = np.nonzero(shape)
    if not len(xs):
        return shape.copy()
    angle = (rng.choice([0.0, 0.5, 0.25, -0.25]) + rng.uniform(-0.08, 0.08)) * math.pi  # rows: across, down, slanted
    c, s = math.cos(angle), math.sin(angle)
    across, along = xs * -s + ys * c, xs * c + ys * s
    spacing = pen * rng.uniform(0.8, 2.2)
    row = np.floor((across - across.min()) / spacing - rng.uniform(0, 0.5)).astype(np.int64) + 1
    n = int(row.max()) + 1
    low, high = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(low, row, along)
    np.maximum.at(high, row, along)
    rows = np.nonzero(np.isfinite(low))[0]
    ends = np.stack([low[rows], high[rows]], 1) + rng.uniform(-0.5, 0.5, (len(rows), 2)) * pen * [-1, 1]
    ends[1::2] = ends[1::2, ::-1]  # back and forth: every other row is drawn the other way
    mid = across.min() + (rows + rng.uniform(-0.5, 0.5) * 0.3) * spacing
    zigzag = [(float(a * c - u * s), float(a * s + u * c)) for u, pair in zip(mid, ends) for a in pair]
    canvas = Image.new("L", (shape.shape[1], shape.shape[0]), 0)
    ImageDraw.Draw(canvas).line(zigzag, fill=255, width=pen, joint="curve")
    return (np.asarray(canvas) > 127) & dilate(shape, pen | 1)


def hand_drawn(image: np.ndarray, label: int, rng: np.random.Generator, strokes: float = 0.0) -> np.ndarray:
    """A 28x28 uint8 training image -> uint8 (28, 28): the garment as a student might draw it (see above),
    as the app's preprocessing turns a drawing into the model's input; strokes: the chance that a coloured-in one is
    coloured with back-and-forth strokes (`colour_in`) instead of solid."""
    # the silhouette's holes stay open: a sandal's straps, a bag's handle and the gap between trouser legs are
    # drawn as lines around them (and left white in a coloured-in drawing)
    contours = sorted(_contours(((image > INK * 255) * 255).astype(np.float32), 127.5), key=len, reverse=True)
    if not contours:  # nothing bright enough to draw: the image stays as it is
        return image.copy()
    lines = [contours[0]] + [c for c in contours[1:] if len(c) > 6 and rng.random() < 0.8]
    if rng.random() < 0.4:  # interior lines: where the photo's brightness crosses a random level
        inner = erode(fill_enclosed(((image > INK * 255) * 255).astype(np.uint8)) > 127, 5)
        level = rng.uniform(0.25, 0.7) * float(image.max())
        details = [c for c in _contours(image.astype(np.float32), level) if len(c) > 6 and
                   inner[c[:, 1].round().astype(int).clip(0, 27), c[:, 0].round().astype(int).clip(0, 27)].mean() > 0.7]
        lines += sorted(details, key=len, reverse=True)[:int(rng.integers(1, 4))]
    angle = np.deg2rad(rng.uniform(-25, 25) if label in SHOES else rng.uniform(-6, 6))
    turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    stretch = np.array([rng.uniform(0.85, 1.15), 1.0])[::1 if rng.random() < 0.5 else -1]
    flip = np.array([-1.0 if rng.random() < 0.5 else 1.0, 1.0])
    stray = rng.uniform(0.3, 1.3)  # model pixels: how far the straight strokes stray from the contour
    scale = HAND_SIDE * 0.7 / 28

    def place(line: np.ndarray) -> list[tuple[float, float]]:
        p = ((simplify(line, stray) - 13.5) * flip * stretch) @ turn
        p = (p + rng.normal(0, 0.25, p.shape)) * scale + HAND_SIDE / 2
        return [(float(x), float(y)) for x, y in p]

    drawn = [place(line) for line in lines]
    extent = float(np.ptp(np.array(drawn[0]), 0).max())
    width = max(1, round(rng.uniform(0.012, 0.08) * extent))  # the app's pens: 1-9 % of a drawing's size
    canvas = Image.new("L", (HAND_SIDE, HAND_SIDE), 0)
    pen = ImageDraw.Draw(canvas)
    if rng.random() < 0.3:  # coloured in; interior lines then left off or drawn as gaps
        pen.polygon(drawn[0], fill=255)
        if strokes and rng.random() < strokes:
            canvas = colour_in_drawing(canvas, drawn[0], width, extent, rng)
            pen = ImageDraw.Draw(canvas)
        for line in drawn[1:]:
            if rng.random() < 0.5:
                pen.line(line, fill=0, width=width, joint="curve")
    else:
        for line in drawn:
            pen.line(line, fill=255, width=width, joint="curve")
    return ink_to_model_image(np.asarray(canvas), min_stroke=True)


def colour_in_drawing(canvas: Image.Image, outline: list[tuple[float, float]], width: int, extent: float,
                      rng: np.random.Generator) -> Image.Image:
    """A canvas with a garment painted solid -> the same garment coloured in with `colour_in`'s strokes (a brush 3-10 %
    of the drawing's size), its outline drawn around them with the drawing's pen two times in three."""
    ink = colour_in(np.asarray(canvas) > 127, max(2, round(rng.uniform(0.03, 0.1) * extent)), rng)
    out = Image.fromarray(ink.astype(np.uint8) * 255, "L")
    if rng.random() < 2 / 3:
        ImageDraw.Draw(out).line(outline + outline[:1], fill=255, width=width, joint="curve")
    return out


def _hand_drawn_part(job: tuple[np.ndarray, np.ndarray, int, float]) -> np.ndarray:
    images, labels, seed, strokes = job
    rng = np.random.default_rng(seed)
    return np.stack([hand_drawn(im, int(lab), rng, strokes) for im, lab in zip(images, labels)])


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)  # what stops a run: blocked while fork_map forks, reset in its workers


def fork_map(fn, jobs: list, workers: int) -> list:
    """[fn(job) for job in jobs], in `workers` forked processes where there are several jobs and fork exists. Fork,
    not spawn: a spawned worker would re-run the caller's script (a fork bomb without a __main__ guard). For work in
    numpy, PIL and contourpy only, never torch (whose OpenMP pool does not survive a fork)."""
    if not (workers > 1 and len(jobs) > 1 and "fork" in multiprocessing.get_all_start_methods()):
        return [fn(job) for job in jobs]
    # The workers are forked with SIGTERM and SIGINT blocked, so neither can run this process's handlers in a worker
    # before _quiet_worker has replaced them: the CLI's SIGTERM handler raises, and raised in the instant after the
    # fork, outside multiprocessing's own try, the exception escaped into the caller's code, which the worker then ran
    # on (under pytest: the rest of the test suite, until CI's time ran out). Blocked here, a signal waits for this
    # process's own handlers a few milliseconds later; nothing is lost.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        pool = multiprocessing.get_context("fork").Pool(workers, initializer=_quiet_worker)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    try:
        results = pool.map(fn, jobs)
    except BaseException:  # a job failed, or Ctrl-C / the CLI's stop: the workers are ended (SIGTERM) at once
        pool.terminate()
        raise
    pool.close()  # the workers finish and exit by themselves: none is sent SIGTERM while it is still starting
    pool.join()
    return results


def _quiet_worker() -> None:
    """A forked worker keeps its parent's signal handlers (the CLI turns SIGTERM into a stop that saves the run): the
    pool ends its workers with SIGTERM and Ctrl-C reaches every process of the terminal, so a worker dies of SIGTERM
    as by default and leaves Ctrl-C to its parent, which stops the pool, instead of each printing a traceback. Only
    then are the two signals, blocked by fork_map for the fork, let through: one sent meanwhile ends the worker."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def hand_drawn_bank(images: torch.Tensor, labels: torch.Tensor, seed: int = 0, workers: int = 2,
                    chunk: int = 1000, strokes: float = 0.0) -> torch.Tensor:
    """HAND_VARIANTS `hand_drawn` renderings of every image (uint8 (N, 28, 28)) -> uint8 (N, HAND_VARIANTS, 28, 28),
    deterministic for a seed and chunk whatever `workers` is (each chunk of images has its own random stream).
    About 3 ms an image on one core: minutes for the whole training set, so it is made once per dataset."""
    ims, labs = images.numpy(), labels.numpy()
    jobs = [(ims[i:i + chunk], labs[i:i + chunk], seed * 1_000_003 + v * 7919 + i, strokes)
            for v in range(HAND_VARIANTS) for i in range(0, len(ims), chunk)]
    parts = fork_map(_hand_drawn_part, jobs, workers)
    per_variant = len(parts) // HAND_VARIANTS
    variants = [np.concatenate(parts[v * per_variant:(v + 1) * per_variant]) for v in range(HAND_VARIANTS)]
    return torch.from_numpy(np.stack(variants, 1))


@remember_last
def dataset_hand_drawn(data, strokes: float) -> torch.Tensor:
    """`hand_drawn_bank` of a dataset's training images, kept for the last dataset and `strokes` asked about."""
    return hand_drawn_bank(data.train_images, data.train_labels, strokes=strokes)


# ---- Pen shapes: a garment's own silhouette filled in or traced on the sketchpad ----------------------------------
# The squashed 28x28 silhouettes and outlines above keep a stroke 1-3 model pixels wide whatever the drawing's size;
# on the pad a pen is so many *pad* pixels wide, so a marker on a small drawing gives strokes a third of the garment
# wide and a thin pen on a big one a hairline the app widens. `pen_shape` draws the silhouette at the pad's scale and
# hands it through the app's own `ink_to_model_image`, so training sees what the Predict tab makes of such a drawing.
PAD_SIDE = 448  # the sketchpad's pixels
PEN_VARIANTS = 2  # renderings per training image by default: its silhouette filled in, and traced as an outline


def pen_shape(image: np.ndarray, outline: bool, rng: np.random.Generator, strokes: float = 0.0) -> np.ndarray:
    """A 28x28 uint8 training image -> uint8 (28, 28): its silhouette (a random brightness level, holes filled, as
    a drawer draws the outer contour) drawn 20-95 % of the pad's size in a random aspect (0.75-1.33), filled in or
    traced inside its edge with a pen 3-18 pad pixels wide, as the app's preprocessing turns that into the model's
    input; strokes: the chance that a filled one is coloured in with back-and-forth strokes (`colour_in`, a brush
    6-24 pad pixels wide), traced around them one time in two."""
    level = rng.uniform(0.05, 0.25) * 255
    mask = fill_enclosed(((image > level) * 255).astype(np.uint8))
    if not (mask > 127).any():  # nothing bright enough to draw: the image stays as it is
        return image.copy()
    side = rng.uniform(0.2, 0.95) * PAD_SIDE
    aspect = math.exp(rng.uniform(math.log(0.75), math.log(1.33)))
    size = (max(8, round(side * min(1.0, aspect))), max(8, round(side * min(1.0, 1 / aspect))))
    shape = np.asarray(Image.fromarray(mask, "L").resize(size, Image.Resampling.BILINEAR)) > 127
    if outline:
        pen = int(rng.integers(3, 19))
        shape = np.pad(shape, 1) & ~erode(np.pad(shape, 1), pen | 1)  # padded: the edge of the box is outside
    elif strokes and rng.random() < strokes:
        edge = np.pad(shape, 1) & ~erode(np.pad(shape, 1), int(rng.integers(3, 19)) | 1)
        shape = np.pad(colour_in(shape, int(rng.integers(6, 25)), rng), 1) | (edge if rng.random() < 0.5 else False)
    return ink_to_model_image(shape.astype(np.uint8) * 255, min_stroke=True)


def _pen_shape_part(job: tuple[np.ndarray, int, int, float]) -> np.ndarray:
    images, seed, variants, strokes = job
    rng = np.random.default_rng(seed)
    return np.stack([np.stack([pen_shape(im, bool(v % 2), rng, strokes) for v in range(variants)]) for im in images])


def pen_shape_bank(images: torch.Tensor, seed: int = 0, workers: int = 2, chunk: int = 1000,
                   variants: int = PEN_VARIANTS, strokes: float = 0.0) -> torch.Tensor:
    """`pen_shape` of every image (uint8 (N, 28, 28)) `variants` times, filled and outlined in turn (even variants
    filled, odd ones traced) -> uint8 (N, variants, 28, 28), deterministic for a seed, chunk and number of variants
    whatever `workers` is. About 1 ms a rendering on one core. More variants give the net more sizes, aspects, pens
    and brightness levels of each silhouette to learn from instead of the same two all run long."""
    ims = images.numpy()
    jobs = [(ims[i:i + chunk], seed * 1_000_003 + 104_729 + i, variants, strokes) for i in range(0, len(ims), chunk)]
    parts = fork_map(_pen_shape_part, jobs, workers)
    return (torch.from_numpy(np.concatenate(parts)) if parts
            else torch.zeros((0, variants, 28, 28), torch.uint8))


@remember_last
def dataset_pen_shapes(data, variants: int, strokes: float) -> torch.Tensor:
    """`pen_shape_bank` of a dataset's training images, `variants` of each, kept for the last dataset, number of
    variants and `strokes` asked about. No defaults: `f(data)` and `f(data, 2)` would be kept apart and the bank
    made twice."""
    return pen_shape_bank(data.train_images, variants=variants, strokes=strokes)


def random_erase(x: torch.Tensor, generator: torch.Generator, p: float) -> torch.Tensor:
    """Images (N, 1, H, W) with a random rectangle (2-40 % of the area, aspect 0.3-3.3) blacked out in a
    share p of them (Zhong et al. 2017): the net must not lean on any one part of a garment."""
    n, _, h, w = x.shape
    area = torch.empty(n).uniform_(0.02, 0.4, generator=generator) * h * w
    aspect = torch.exp(torch.empty(n).uniform_(math.log(0.3), math.log(3.3), generator=generator))
    eh = (area * aspect).sqrt().clamp(1, h)
    ew = (area / aspect).sqrt().clamp(1, w)
    top = torch.rand(n, generator=generator) * (h - eh)
    left = torch.rand(n, generator=generator) * (w - ew)
    on = torch.rand(n, generator=generator) < p
    rows = torch.arange(h).view(1, h, 1)
    cols = torch.arange(w).view(1, 1, w)
    box = ((rows >= top.view(n, 1, 1)) & (rows < (top + eh).view(n, 1, 1)) & (cols >= left.view(n, 1, 1))
           & (cols < (left + ew).view(n, 1, 1)) & on.view(n, 1, 1))
    return x.masked_fill(box.unsqueeze(1).to(x.device), 0.0)
