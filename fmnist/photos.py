"""The test split photographed back: each held-out test image turned into the kind of file a student uploads (a
dark garment on a light table or sheet, as the dataset's product photos were before they were negated, or a light
one on a dark table), under the conditions a phone photo has: off-white paper, light falling off across the picture,
a darker corner, grain, a soft shadow, JPEG. What the Predict tab's photo path (`fmnist.preprocess.preprocess_image`)
must undo to show the model the picture it was trained on; never used in training."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import torch
from PIL import Image, ImageFilter
from torch import nn

from fmnist.data import CLASS_NAMES, FashionMNIST, to_float
from fmnist.predict import predict_proba
from fmnist.preprocess import preprocess_image

SIDE = 640  # pixels: the photo's longer side (a phone's picture after the upload box's own resizing is about this)
# Each condition: what the photo has. "phone" is everything at once but the dark table.
PHOTO_CONDITIONS = ("clean", "off-white", "uneven light", "dark corner", "grain", "shadow", "dark table", "phone")


def photograph(image28: np.ndarray, condition: str, rng: np.random.Generator) -> bytes:
    """A Fashion-MNIST image (28, 28) uint8, light on black -> an encoded photo of it (PNG for "clean", JPEG
    otherwise): the garment 45-90 % of the picture's side, anywhere in it, on a background of the condition's."""
    if condition not in PHOTO_CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}: one of {', '.join(PHOTO_CONDITIONS)}")
    has = {condition} | ({"off-white", "uneven light", "grain", "shadow"} if condition == "phone" else set())
    h, w = (SIDE, round(SIDE * rng.uniform(0.75, 1.0)))[:: 1 if rng.integers(2) else -1]
    size = int(rng.uniform(0.45, 0.9) * min(h, w))
    garment = np.asarray(Image.fromarray(image28).resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255
    y0, x0 = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    cover = np.zeros((h, w), np.float32)  # how much of each pixel is garment, 0..1
    cover[y0:y0 + size, x0:x0 + size] = np.clip(garment, 0, 1)
    dark = "dark table" in has
    paper = rng.uniform(20, 60) if dark else (rng.uniform(200, 240) if "off-white" in has else 255.0)
    scene = np.full((h, w), paper, np.float32)
    if "shadow" in has:  # cast down and to one side, soft-edged, on the table only
        dy, dx = int(rng.integers(6, 30)), int(rng.integers(-30, 31))
        cast = np.roll(np.roll(cover, dy, axis=0), dx, axis=1)
        cast = np.asarray(Image.fromarray((cast * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(14)),
                          np.float32) / 255
        scene *= 1 - rng.uniform(0.15, 0.3) * cast
    # the garment: black where the dataset's image is white (negated back), or light on the dark table
    scene = scene * (1 - cover) + (rng.uniform(150, 230) if dark else rng.uniform(0, 60)) * cover
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if "uneven light" in has:  # light falling off across the picture, from one side or corner
        slope = rng.uniform(-1, 1, 2)
        ramp = (slope[0] * (yy / h - 0.5) + slope[1] * (xx / w - 0.5)) / max(np.abs(slope).sum(), 1e-6)
        scene *= 1 - rng.uniform(0.1, 0.3) * (ramp + 0.5)
    if "dark corner" in has:  # a lamp's pool of light: darker towards the corners
        r2 = ((yy / h - 0.5) ** 2 + (xx / w - 0.5) ** 2) * 2
        scene *= 1 - rng.uniform(0.1, 0.25) * r2
    if "grain" in has:
        scene += rng.normal(0, rng.uniform(3, 7), scene.shape)
    photo = Image.fromarray(np.clip(scene, 0, 255).round().astype(np.uint8)).convert("RGB")
    out = io.BytesIO()
    if condition == "clean":
        photo.save(out, format="PNG")
    else:
        photo.save(out, format="JPEG", quality=int(rng.integers(60, 91)))
    return out.getvalue()


def photo_indices(data: FashionMNIST, per_class: int, seed: int) -> np.ndarray:
    """Which test images are photographed: per_class of each class, drawn at random (their own stream)."""
    rng = np.random.default_rng([seed, 5])
    labels = data.test_labels.numpy()
    return np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
                           for c in range(len(CLASS_NAMES))])


def iter_photos(data: FashionMNIST, per_class: int = 30, seed: int = 0) -> Iterator[tuple[str, int, bytes]]:
    """(condition, test index, encoded photo) for every condition and per_class test images of each class."""
    chosen = photo_indices(data, per_class, seed)
    images = data.test_images.numpy()
    for k, condition in enumerate(PHOTO_CONDITIONS):
        rng = np.random.default_rng([seed, 6, k])
        for index in chosen:
            yield condition, int(index), photograph(images[index], condition, rng)


@torch.inference_mode()
def photo_accuracy(model: nn.Module, normalization: dict, data: FashionMNIST, per_class: int = 30,
                   seed: int = 0) -> dict:
    """The model on the photos as the Predict tab reads them -> {"n": photos a condition, "images": accuracy on
    the same test images given as they are, "conditions": {condition: {"accuracy", "per_class_accuracy"}}}, as
    fractions."""
    chosen = photo_indices(data, per_class, seed)
    labels = data.test_labels.numpy()
    pictures: dict[str, list[np.ndarray]] = {}
    for condition, index, photo in iter_photos(data, per_class, seed):
        pictures.setdefault(condition, []).append(preprocess_image(photo))
    mean, std = normalization["mean"], normalization["std"]

    def figures(images: np.ndarray) -> dict:
        right = predict_proba(model, to_float(torch.from_numpy(images), mean, std)).argmax(1) == labels[chosen]
        return {"accuracy": float(right.mean()),
                "per_class_accuracy": {name: float(right[labels[chosen] == c].mean())
                                       for c, name in enumerate(CLASS_NAMES)}}

    return {"n": len(chosen), "images": figures(data.test_images.numpy()[chosen])["accuracy"],
            "conditions": {c: figures(np.stack(p)) for c, p in pictures.items()}}
