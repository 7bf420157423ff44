"""A sketch-style evaluation set, each drawing an RGBA canvas like the sketchpad sends: held-out test
images redrawn as a student would draw them (outlines of varied stroke width, filled silhouettes;
small, off-centre, not square), and hand-constructed garment drawings (DRAWINGS, a few per class)
rendered the same ways. Generated from the test split and the templates, never used in training."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from fmnist.data import CLASS_NAMES, FashionMNIST, remember_last, to_float
from fmnist.morphology import erode
from fmnist.predict import predict_proba
from fmnist.preprocess import BlankImageError, fill_enclosed, preprocess_drawing

CANVAS = 448  # the app's sketchpad size
KINDS = ("outline", "filled")
STROKES = (4, 8, 14)  # canvas pixels: a thin pen, the app's default brush, a marker


@dataclass(frozen=True)
class Sketch:
    """One drawing: an RGBA canvas (CANVAS, CANVAS, 4) uint8, its class and how it was drawn."""

    canvas: np.ndarray
    label: int
    kind: str  # "outline" or "filled"
    stroke: int  # outline width in canvas pixels (0 for filled)
    source: str = "test"  # "test" (a test image redrawn) or "drawn" (a hand-constructed template)


# Hand-constructed drawings: per class, templates of (outline polygon, extra strokes, width/height) in a
# unit box, x to the right and y down; shoes face left as in Fashion-MNIST (draw_template mirrors half).
# Extra strokes are drawn on top in both kinds (a bag's handle, a shirt's button placket, sandal straps).
Point = tuple[float, float]
DRAWINGS: dict[int, list[tuple[list[Point], list[list[Point]], float]]] = {
    0: [  # T-shirt/top: short sleeves; a sleeveless top
        ([(.38, .02), (.2, .06), (0, .3), (.13, .42), (.24, .32), (.24, 1), (.76, 1), (.76, .32), (.87, .42),
          (1, .3), (.8, .06), (.62, .02), (.5, .12)], [], 1.0),
        ([(.3, 0), (.2, .3), (.22, 1), (.78, 1), (.8, .3), (.7, 0), (.5, .15)], [], 0.7),
    ],
    1: [  # Trouser: two legs, straight and flared
        ([(.15, 0), (.85, 0), (.9, 1), (.57, 1), (.5, .3), (.43, 1), (.1, 1)], [], 0.45),
        ([(.2, 0), (.8, 0), (1, 1), (.58, 1), (.5, .35), (.42, 1), (0, 1)], [[(.2, .06), (.8, .06)]], 0.5),
    ],
    2: [  # Pullover: long sleeves down to the hem; a raglan jumper
        ([(.38, .03), (.15, .08), (0, .85), (.14, .9), (.23, .35), (.23, 1), (.77, 1), (.77, .35), (.86, .9),
          (1, .85), (.85, .08), (.62, .03), (.5, .1)], [], 1.05),
        ([(.4, 0), (.2, .05), (.02, .95), (.17, .98), (.25, .4), (.25, .97), (.75, .97), (.75, .4), (.83, .98),
          (.98, .95), (.8, .05), (.6, 0), (.5, .06)], [[(.25, .9), (.75, .9)]], 1.0),
    ],
    3: [  # Dress: A-line with straps; a fitted dress with short sleeves
        ([(.35, 0), (.3, .35), (.05, 1), (.95, 1), (.7, .35), (.65, 0), (.5, .12)], [], 0.55),
        ([(.38, 0), (.22, .06), (.18, .2), (.3, .22), (.3, .45), (.18, 1), (.82, 1), (.7, .45), (.7, .22),
          (.82, .2), (.78, .06), (.62, 0), (.5, .1)], [[(.3, .45), (.7, .45)]], 0.6),
    ],
    4: [  # Coat: long, long sleeves, open collar and a zip; a shorter jacket with a belt
        ([(.36, 0), (.12, .07), (0, .9), (.15, .94), (.2, .38), (.2, 1), (.8, 1), (.8, .38), (.85, .94),
          (1, .9), (.88, .07), (.64, 0), (.5, .3)], [[(.5, .3), (.5, 1)]], 0.9),
        ([(.36, 0), (.14, .06), (.02, .92), (.16, .95), (.22, .4), (.22, .95), (.78, .95), (.78, .4),
          (.84, .95), (.98, .92), (.86, .06), (.64, 0), (.5, .22)], [[(.5, .22), (.5, .95)], [(.22, .6), (.78, .6)]],
         0.95),
    ],
    5: [  # Sandal: a sole with straps; a flip-flop-like sandal with a heel strap
        ([(0, .8), (.15, .72), (1, .72), (1, .92), (0, .92)], [[(.1, .75), (.3, .3), (.55, .75)],
                                                             [(.4, .75), (.65, .35), (.85, .75)],
                                                             [(.75, .75), (.95, .4), (1, .72)]], 2.2),
        ([(0, .85), (.1, .78), (1, .7), (1, .9), (0, .95)], [[(.15, .8), (.35, .45), (.6, .75)],
                                                           [(.35, .45), (.85, .4), (.95, .72)]], 2.0),
    ],
    6: [  # Shirt: long sleeves, a collar and a button placket; cuffed sleeves and a pocket
        ([(.4, 0), (.17, .08), (0, .88), (.15, .92), (.24, .36), (.24, 1), (.76, 1), (.76, .36), (.85, .92),
          (1, .88), (.83, .08), (.6, 0), (.5, .1)], [[(.4, 0), (.5, .15), (.6, 0)], [(.5, .15), (.5, 1)]], 1.0),
        ([(.4, 0), (.18, .07), (.03, .9), (.16, .93), (.25, .38), (.25, 1), (.75, 1), (.75, .38), (.84, .93),
          (.97, .9), (.82, .07), (.6, 0), (.5, .08)],
         [[(.42, 0), (.5, .14), (.58, 0)], [(.5, .14), (.5, 1)], [(.58, .3), (.7, .3), (.7, .42), (.58, .42)]],
         0.95),
    ],
    7: [  # Sneaker: toe on the left, laces; a low trainer with a thick sole
        ([(0, .62), (.3, .45), (.5, .25), (.8, .2), (.95, .3), (1, .75), (1, .9), (0, .9)],
         [[(0, .78), (1, .78)], [(.45, .35), (.55, .45)], [(.55, .28), (.65, .38)]], 2.0),
        ([(.02, .55), (.4, .45), (.6, .3), (.9, .3), (1, .5), (1, .85), (0, .85)], [[(0, .72), (1, .72)]], 2.4),
    ],
    8: [  # Bag: a tote with a handle; a clutch with a flap
        ([(.05, .38), (.95, .38), (1, 1), (0, 1)], [[(.28, .38), (.32, .1), (.5, .02), (.68, .1), (.72, .38)]],
         1.0),
        ([(0, .2), (1, .2), (1, .9), (0, .9)], [[(0, .2), (.5, .55), (1, .2)]], 1.5),
    ],
    9: [  # Ankle boot: toe on the left, shaft on the right, a heel
        ([(.45, 0), (.95, 0), (1, .95), (0, .95), (0, .75), (.1, .62), (.42, .55)], [[(.6, .95), (.7, .85)]], 1.1),
        ([(.5, 0), (.92, 0), (.95, .8), (1, .8), (1, .98), (0, .98), (.02, .72), (.45, .5)], [], 1.0),
    ],
}


def draw_sketch(image: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A 28x28 uint8 test image -> (RGBA canvas, stroke width): its silhouette drawn at a random size,
    aspect and position, filled or as an outline."""
    # holes filled: a drawer draws the outer contour, not the gaps inside a garment
    mask = Image.fromarray(fill_enclosed(((image > 25) * 255).astype(np.uint8)), "L")
    side = rng.uniform(0.35, 0.9) * CANVAS
    aspect = rng.uniform(0.8, 1.25)
    w, h = max(8, int(side * min(1.0, aspect))), max(8, int(side * min(1.0, 1 / aspect)))
    big = np.asarray(mask.resize((w, h), Image.Resampling.BILINEAR)) > 127
    stroke = 0
    if kind == "outline":
        stroke = int(rng.choice(STROKES))
        big = big & ~erode(big, 2 * max(1, stroke // 2) + 1)
    canvas = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    y, x = int(rng.integers(0, CANVAS - h + 1)), int(rng.integers(0, CANVAS - w + 1))
    canvas[y:y + h, x:x + w, 3] = big * 255
    return canvas, stroke


def draw_template(template: tuple[list[Point], list[list[Point]], float], kind: str,
                  rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One of DRAWINGS -> (RGBA canvas, stroke width): drawn at a random size, aspect and position, its
    corners jittered by up to 3 % as a hand would, half of them mirrored (students draw shoes facing
    either way), filled or as an outline."""
    outline, strokes, aspect = template
    mirror = bool(rng.integers(2))
    aspect *= rng.uniform(0.85, 1.15)
    side = rng.uniform(0.35, 0.9) * CANVAS
    w, h = side * min(1.0, aspect), side * min(1.0, 1 / aspect)
    x0, y0 = rng.uniform(0, CANVAS - w), rng.uniform(0, CANVAS - h)

    def place(points: list[Point]) -> list[Point]:
        jitter = rng.uniform(-0.03, 0.03, (len(points), 2))
        return [(x0 + ((1 - px if mirror else px) + jx) * w, y0 + (py + jy) * h)
                for (px, py), (jx, jy) in zip(points, jitter)]

    stroke = int(rng.choice(STROKES))
    alpha = Image.new("L", (CANVAS, CANVAS), 0)
    pen = ImageDraw.Draw(alpha)
    shape = place(outline)
    if kind == "filled":
        pen.polygon(shape, fill=255)
    else:
        pen.line(shape + shape[:1], fill=255, width=stroke, joint="curve")
    for line in strokes:
        pen.line(place(line), fill=255, width=stroke, joint="curve")
    canvas = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    canvas[..., 3] = np.asarray(alpha)
    return canvas, stroke if kind == "outline" else 0


def sample_drawing(size: int = 800) -> np.ndarray:
    """One sketchpad-sized RGBA drawing (size, size, 4) uint8: a trouser outline in strokes 1/56 of the
    canvas wide (14 pixels at 800) on a transparent layer; what the benchmark and the load test send."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    s = size / 280
    pts = [(90, 30), (190, 30), (205, 250), (160, 250), (140, 90), (120, 250), (75, 250), (90, 30)]
    ImageDraw.Draw(img).line([(x * s, y * s) for x, y in pts], fill=(0, 0, 0, 255), width=int(5 * s))
    return np.asarray(img).copy()


def iter_sketches(data: FashionMNIST, per_class: int = 50, seed: int = 0, per_template: int = 3) -> Iterator[Sketch]:
    """per_class test images of each class, and per_template renderings of each of DRAWINGS, each drawn
    both as an outline and filled, one at a time (each canvas is 0.8 MB). The drawings have their own
    random stream, so they do not depend on per_class or the data."""
    rng, hand = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    labels = data.test_labels.numpy()
    for c in range(10):
        members = np.nonzero(labels == c)[0]
        for i in rng.choice(members, min(per_class, len(members)), replace=False):
            for kind in KINDS:
                canvas, stroke = draw_sketch(data.test_images[i].numpy(), kind, rng)
                yield Sketch(canvas, c, kind, stroke)
        for template in DRAWINGS[c]:
            for _ in range(per_template):
                for kind in KINDS:
                    canvas, stroke = draw_template(template, kind, hand)
                    yield Sketch(canvas, c, kind, stroke, "drawn")


def make_sketches(data: FashionMNIST, per_class: int = 50, seed: int = 0, per_template: int = 3) -> list[Sketch]:
    """All of iter_sketches as a list (to look at the canvases themselves)."""
    return list(iter_sketches(data, per_class, seed, per_template))


# (name, kind of drawing, fill closed outlines?): "outline+fill" is the app's "Fill closed outlines" option.
CONDITIONS = (("outline", "outline", False), ("outline+fill", "outline", True), ("filled", "filled", False))


@dataclass(frozen=True)
class Prepared:
    """One condition's drawings after the app's preprocessing: what sketch_accuracy scores."""

    images: np.ndarray  # (N, 28, 28) uint8, light on black; zeros where a drawing came out blank
    labels: np.ndarray  # (N,) int
    drawn: np.ndarray  # (N,) bool: a hand-constructed drawing
    blank: np.ndarray  # (N,) bool: preprocessing found nothing to classify (scored as wrong)


def prepare_sketches(sketches: Iterable[Sketch]) -> dict[str, Prepared]:
    """Every drawing through the app's preprocessing (`preprocess_drawing`), once per CONDITION; reads
    the drawings one at a time, so iter_sketches never holds more than one canvas."""
    rows: dict[str, list] = {name: [] for name, _, _ in CONDITIONS}
    for s in sketches:
        for name, kind, fill in CONDITIONS:
            if s.kind != kind:
                continue
            try:
                image, blank = preprocess_drawing(s.canvas, fill=fill), False
            except BlankImageError:
                image, blank = np.zeros((28, 28), np.uint8), True
            rows[name].append((image, s.label, s.source == "drawn", blank))
    return {name: Prepared(np.stack([r[0] for r in got]) if got else np.zeros((0, 28, 28), np.uint8),
                           np.array([r[1] for r in got], dtype=np.int64), np.array([r[2] for r in got], dtype=bool),
                           np.array([r[3] for r in got], dtype=bool))
            for name, got in rows.items()}


@remember_last
def sketch_set(data: FashionMNIST) -> dict[str, Prepared]:
    """The evaluation set every figure in this project is measured on, preprocessed (seconds of CPU, 2.6 MB), kept
    for the last dataset: a sweep's runs and the app's runs measure on it without preparing it again."""
    return prepare_sketches(iter_sketches(data))


@torch.inference_mode()
def sketch_accuracy(model: nn.Module, normalization: dict, prepared: dict[str, Prepared]) -> dict:
    """Accuracy through the app's own preprocessing: {condition: {"accuracy", "per_class_accuracy", "n",
    "drawn_accuracy", "drawn_n"}}; the drawn_ figures count the hand-constructed drawings alone."""
    results = {}
    for name, p in prepared.items():
        x = to_float(torch.from_numpy(p.images), normalization["mean"], normalization["std"])
        preds = np.concatenate([predict_proba(model, b).argmax(1) for b in x.split(256)]) if len(x) else \
            np.zeros(0, np.int64)
        right = (preds == p.labels) & ~p.blank
        total = np.bincount(p.labels, minlength=10)
        correct = np.bincount(p.labels, weights=right, minlength=10)
        results[name] = {
            "accuracy": round(float(correct.sum() / max(total.sum(), 1)), 4),
            "per_class_accuracy": {n: round(float(a / max(t, 1)), 4) for n, a, t in zip(CLASS_NAMES, correct, total)},
            "n": int(total.sum()),
            "drawn_accuracy": round(float(right[p.drawn].sum()) / max(int(p.drawn.sum()), 1), 4),
            "drawn_n": int(p.drawn.sum()),
        }
    return results
