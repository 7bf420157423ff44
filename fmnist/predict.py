"""The model's side of prediction: a 28x28 picture -> class probabilities, top classes and
the first convolutions' feature maps."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from fmnist.data import CLASS_NAMES
from fmnist.models import conv_layers


def to_input(image28: np.ndarray, normalization: dict) -> torch.Tensor:
    """uint8 (28, 28) light-on-black -> normalised float tensor (1, 1, 28, 28)."""
    x = torch.from_numpy(np.ascontiguousarray(image28, dtype=np.float32) / 255.0)
    return ((x - normalization["mean"]) / normalization["std"]).reshape(1, 1, 28, 28)


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


@torch.inference_mode()
def feature_maps(model: nn.Module, x: torch.Tensor, n_layers: int = 2) -> list[np.ndarray]:
    """Activations (after ReLU) of the first conv layers for one image: [(C, H, W), ...]."""
    maps: list[np.ndarray] = []
    hooks = [conv.register_forward_hook(lambda _m, _i, out: maps.append(torch.relu(out[0]).cpu().numpy()))
             for conv in conv_layers(model)[:n_layers]]
    try:
        model.eval()
        model(x.to(next(model.parameters()).device))
    finally:
        for h in hooks:
            h.remove()
    return maps
