"""The networks, looked up by name: the seed experiment's LeNet and stronger models.
Every `forward()` returns logits (N, 10); softmax belongs where probabilities are shown."""

from __future__ import annotations

import threading

import torch
from torch import nn


class LeNet(nn.Module):
    """The seed's LeNet-5 variant (61,706 parameters), without its final softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),  # (6, 14, 14)
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),           # (16, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


MODELS: dict[str, type[nn.Module]] = {"lenet": LeNet}
_init_lock = threading.Lock()


def build_model(name: str, seed: int | None = None) -> nn.Module:
    """A freshly initialised model by name; with a seed, its weights depend on nothing else."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    if seed is None:
        return MODELS[name]()
    # nn.init draws from the global generator: fork it so one run's seed never moves another's.
    with _init_lock, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MODELS[name]()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def conv_layers(model: nn.Module) -> list[nn.Conv2d]:
    """The model's convolution layers in forward order (for showing feature maps)."""
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]
