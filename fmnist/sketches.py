"""A sketch-style evaluation set: held-out test images redrawn as a student would draw them on the
sketchpad (outlines of varied stroke width, filled silhouettes; small, off-centre, not square),
each an RGBA canvas like the sketchpad sends. Generated from the test split, never used in training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from fmnist.data import CLASS_NAMES, FashionMNIST
from fmnist.predict import predict_proba, to_input
from fmnist.preprocess import BlankImageError, preprocess_drawing

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


def _erode(mask: np.ndarray, steps: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(steps):
        shrunk = out.copy()
        shrunk[1:] &= out[:-1]
        shrunk[:-1] &= out[1:]
        shrunk[:, 1:] &= out[:, :-1]
        shrunk[:, :-1] &= out[:, 1:]
        out = shrunk
    return out


def draw_sketch(image: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A 28x28 uint8 test image -> (RGBA canvas, stroke width): its silhouette drawn at a random size,
    aspect and position, filled or as an outline."""
    mask = Image.fromarray(np.pad((image > 25) * 255, 1).astype(np.uint8), "L").copy()
    ImageDraw.floodfill(mask, (0, 0), 128)  # the outside; what stays 0 are holes a drawer would not leave
    mask = Image.fromarray(((np.asarray(mask) != 128) * 255).astype(np.uint8)[1:-1, 1:-1], "L")
    side = rng.uniform(0.35, 0.9) * CANVAS
    aspect = rng.uniform(0.8, 1.25)
    w, h = max(8, int(side * min(1.0, aspect))), max(8, int(side * min(1.0, 1 / aspect)))
    big = np.asarray(mask.resize((w, h), Image.Resampling.BILINEAR)) > 127
    stroke = 0
    if kind == "outline":
        stroke = int(rng.choice(STROKES))
        big = big & ~_erode(big, max(1, stroke // 2))
    canvas = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    y, x = int(rng.integers(0, CANVAS - h + 1)), int(rng.integers(0, CANVAS - w + 1))
    canvas[y:y + h, x:x + w, 3] = big * 255
    return canvas, stroke


def make_sketches(data: FashionMNIST, per_class: int = 50, seed: int = 0) -> list[Sketch]:
    """per_class test images of each class, each drawn both as an outline and filled."""
    rng = np.random.default_rng(seed)
    labels = data.test_labels.numpy()
    sketches = []
    for c in range(10):
        members = np.nonzero(labels == c)[0]
        for i in rng.choice(members, min(per_class, len(members)), replace=False):
            for kind in KINDS:
                canvas, stroke = draw_sketch(data.test_images[i].numpy(), kind, rng)
                sketches.append(Sketch(canvas, c, kind, stroke))
    return sketches


# (name, kind of drawing, fill closed outlines?): "outline+fill" is the app's "Fill closed outlines" option.
CONDITIONS = (("outline", "outline", False), ("outline+fill", "outline", True), ("filled", "filled", False))


@torch.inference_mode()
def sketch_accuracy(model: nn.Module, normalization: dict, sketches: list[Sketch]) -> dict:
    """Accuracy through the app's own preprocessing: {condition: {"accuracy", "per_class_accuracy", "n"}}."""
    results = {}
    for name, kind, fill in CONDITIONS:
        correct, total = np.zeros(10), np.zeros(10)
        for s in sketches:
            if s.kind != kind:
                continue
            total[s.label] += 1
            try:
                x = to_input(preprocess_drawing(s.canvas, fill=fill), normalization)
            except BlankImageError:
                continue  # counted as wrong
            correct[s.label] += int(predict_proba(model, x)[0].argmax() == s.label)
        results[name] = {
            "accuracy": round(float(correct.sum() / max(total.sum(), 1)), 4),
            "per_class_accuracy": {n: round(float(a / max(t, 1)), 4) for n, a, t in zip(CLASS_NAMES, correct, total)},
            "n": int(total.sum()),
        }
    return results
