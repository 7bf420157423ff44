"""The model's side of prediction: a 28x28 picture -> class probabilities, top classes, the first
convolutions' feature maps and where the evidence lies (occlusion). Every model in fmnist.models keeps
its conv layers in `features` and the rest in `classifier`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fmnist.data import CLASS_NAMES, TOPS, to_float


def to_input(image28: np.ndarray, normalization: dict) -> torch.Tensor:
    """uint8 (28, 28) light-on-black -> normalised float tensor (1, 1, 28, 28)."""
    image = torch.from_numpy(np.ascontiguousarray(image28, dtype=np.uint8)).reshape(1, 28, 28)
    return to_float(image, normalization["mean"], normalization["std"])


@torch.inference_mode()
def predict_proba(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Normalised images (N, 1, 28, 28) -> class probabilities (N, 10), softmax of the logits."""
    model.eval()
    device = next(model.parameters()).device
    return torch.softmax(model(x.to(device)), dim=1).cpu().numpy()


def top_classes(probs: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
    """The k most probable classes of one probability vector (10,), best first."""
    order = np.argsort(-probs)[:k]
    return [(CLASS_NAMES[i], float(probs[i])) for i in order]


# How sure an answer is, set from an earlier default cnn's probabilities on 520 drawings of the sketch set (20 per
# class) and on 150 random scribbles: drawings answered with top < 0.5 or a lead < 0.2 were right 45 % of the time
# (the rest 92 %); half the scribbles got top < 0.43, while a twentieth of the drawings got top < 0.37. Measured
# again for any checkpoint by `python -m fmnist evaluate CHECKPOINT --sketches` (fmnist.sketches.verdict_figures).
UNSURE_TOP = 0.5  # a top probability below this: "not sure"
UNSURE_LEAD = 0.2  # the first two closer than this: "not sure, this or that?"
UNLIKE_TOP = 0.35  # a top probability below this: not like any garment the model knows
# A top (TOPS) drawn as a bare shape is sure only from this top probability up. On the default's outline, filled and
# designs drawings (2026-12-05), its sure answers for bare tops were right 41 of 71 times below 0.7 (the other
# drawings' 90 of 127), 145 of 172 from 0.7 to 0.9 (527 of 549) and 43 of 44 above (1,017 of 1,021).
BARE_TOP_SURE = 0.7


@dataclass(frozen=True)
class Verdict:
    """What to say about one answer."""

    kind: str  # "sure", "unsure" (low top or a close second) or "unlike" (like no garment it knows)
    top: tuple[tuple[int, float], ...]  # the three most probable (class index, probability), best first
    shape_only: bool = False  # a top (TOPS) drawn as a bare shape: its class is not in the drawing (see judge)


def judge(probs: np.ndarray, bare: bool = False) -> Verdict:
    """One probability vector (10,) -> how sure the model is (thresholds above). bare: the drawing is a shape with
    nothing inside (`fmnist.preprocess.bare_shape`); when its top class is one of TOPS the verdict is shape_only (a
    T-shirt, a shirt, a pullover and a coat are often the same outline, told apart by a collar, buttons, a zip or
    cuffs) and sure only from BARE_TOP_SURE up."""
    order = np.argsort(-probs)[:3]
    top = tuple((int(i), float(probs[i])) for i in order)
    (_, p1), (_, p2) = top[:2]
    if p1 < UNLIKE_TOP:
        kind = "unlike"
    elif p1 < UNSURE_TOP or p1 - p2 < UNSURE_LEAD:
        kind = "unsure"
    else:
        kind = "sure"
    shape_only = bare and top[0][0] in TOPS
    if shape_only and kind == "sure" and top[0][1] < BARE_TOP_SURE:
        kind = "unsure"
    return Verdict(kind, top, shape_only)


def _relu_outputs(model: nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Run one view of x through model.features layer by layer: (each ReLU's output, the features).
    Walking the layers instead of registering hooks keeps concurrent predictions on a shared model apart."""
    outs, h = [], x
    for layer in model.features:
        h = layer(h)
        if isinstance(layer, nn.ReLU):
            outs.append(h)
    return outs, h


@torch.inference_mode()
def feature_maps(model: nn.Module, x: torch.Tensor, n_layers: int = 2) -> list[np.ndarray]:
    """Activations (after ReLU) of the first conv layers for one image: [(C, H, W), ...]."""
    model.eval()
    outs, _ = _relu_outputs(model, x.to(next(model.parameters()).device))
    return [a[0].cpu().numpy() for a in outs[:n_layers]]


@torch.inference_mode()
def occlusion(model: nn.Module, image28: np.ndarray, normalization: dict, target: int, patch: int = 7,
              stride: int = 3) -> np.ndarray:
    """Where the evidence for class `target` lies, measured directly: a patch x patch square of background
    slides over the 28x28 picture in `stride` steps, and each pixel gets the mean drop in the model's
    log-probability of `target` over the squares that hide it. (28, 28) in [0, 1], scaled so the largest
    drop is 1; all zeros where hiding nothing lowers it."""
    size = image28.shape[0]
    starts = range(0, size - patch + 1, stride)
    covered = [(r, c) for r in starts for c in starts]
    variants = np.repeat(image28[None], len(covered) + 1, axis=0)
    for k, (r, c) in enumerate(covered, start=1):
        variants[k, r:r + patch, c:c + patch] = 0
    x = torch.cat([to_input(v, normalization) for v in variants])
    model.eval()
    logp = torch.log_softmax(model(x.to(next(model.parameters()).device)), dim=1)[:, target].cpu().numpy()
    drop, count = np.zeros((size, size)), np.zeros((size, size))
    for (r, c), d in zip(covered, logp[0] - logp[1:]):
        drop[r:r + patch, c:c + patch] += d
        count[r:r + patch, c:c + patch] += 1
    drop = np.clip(drop / np.maximum(count, 1), 0, None)
    return (drop / drop.max() if drop.max() > 0 else drop).astype(np.float32)
