"""The networks, looked up by name: the seed experiment's LeNet and stronger models.
Every `forward()` returns logits (N, 10); softmax belongs where probabilities are shown. Each model
keeps its conv layers in `features` and the rest in `classifier` (fmnist.predict walks them)."""

from __future__ import annotations

import threading

import numpy as np
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


class SeededDropout(nn.Module):
    """Dropout whose masks come from `self.generator` (set per training run), not the global RNG,
    so one run's seed neither depends on nor disturbs anyone else's random state."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * keep / (1 - self.p)


class FashionCNN(nn.Module):
    """A small VGG-style net: 3x3 conv pairs with BatchNorm and ReLU, each pair followed by max-pooling, then dropout
    and one hidden fully connected layer. `stages` pairs (2 or 3), the channels doubling from `width` at each:
    339,266 parameters at the default width 24 and 2 stages; 867,194 at width 48 and 3 stages (48, 96 and 192
    channels at 28x28, 14x14 and 7x7, then 3x3 maps), the shipped default.
    In eval mode it averages the logits of each image and its mirror image (garments are left-right
    symmetric in meaning, and students draw shoes facing either way); training sees mirrored images."""

    DEFAULT_WIDTH = 24
    DEFAULT_STAGES = 2

    def __init__(self, width: int = DEFAULT_WIDTH, stages: int = DEFAULT_STAGES) -> None:
        super().__init__()
        self.width, self.stages = width, stages

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        layers, cin = [], 1
        for stage in range(stages):  # (width, 14, 14), (2 width, 7, 7), (4 width, 3, 3)
            cout = width * 2 ** stage
            layers += [*block(cin, cout), *block(cout, cout), nn.MaxPool2d(2)]
            cin = cout
        side = 28 >> stages
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(), SeededDropout(0.3),
            nn.Linear(cin * side * side, 128), nn.ReLU(), SeededDropout(0.3),
            nn.Linear(128, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return self.classifier(self.features(x))
        both = self.classifier(self.features(torch.cat([x, x.flip(-1)])))
        return (both[:len(x)] + both[len(x):]) / 2


MODELS: dict[str, type[nn.Module]] = {"lenet": LeNet, "cnn": FashionCNN}
_init_lock = threading.Lock()


MAX_WIDTH = 128
STAGES = (2, 3)


def check_options(name: str, options: dict) -> dict:
    """The keyword arguments a model's class takes beyond its name (today: cnn's `width` and `stages`), checked ->
    the same dict; a ValueError names what is wrong."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    allowed = {"width", "stages"} if MODELS[name] is FashionCNN else set()
    if not isinstance(options, dict) or set(options) - allowed:
        extra = sorted(set(options) - allowed) if isinstance(options, dict) else options
        raise ValueError(f"{name} takes {'only ' + ', '.join(sorted(allowed)) if allowed else 'no options'}, "
                         f"got {extra!r}")
    width = options.get("width")
    if width is not None and (isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH):
        raise ValueError(f"width must be a whole number between 1 and {MAX_WIDTH}, got {width!r}")
    stages = options.get("stages")
    if stages is not None and (isinstance(stages, bool) or stages not in STAGES):
        raise ValueError(f"stages must be {' or '.join(map(str, STAGES))}, got {stages!r}")
    return options


def build_model(name: str, seed: int | None = None, **options) -> nn.Module:
    """A freshly initialised model by name (and `options`, e.g. width=48, stages=3 for cnn); with a seed, its weights
    depend on nothing else."""
    check_options(name, options)
    cls = MODELS[name]
    if seed is None:
        return cls(**options)
    # nn.init draws from the global generator: fork it so one run's seed never moves another's.
    with _init_lock, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(**options)


def model_options(model: nn.Module) -> dict:
    """What build_model needs beyond the name to rebuild this model ({} for the default shape); checkpoints keep it."""
    if not isinstance(model, FashionCNN):
        return {}
    return {k: v for k, v, default in (("width", model.width, FashionCNN.DEFAULT_WIDTH),
                                       ("stages", model.stages, FashionCNN.DEFAULT_STAGES)) if v != default}


def describe_options(options: dict) -> str:
    """A model's shape options in words, for people: {"width": 48, "stages": 3} -> "width 48, 3 stages" ("" for {})."""
    words = {"width": "width {}", "stages": "{} stages"}
    return ", ".join(words[k].format(options[k]) for k in words if k in options)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def first_filters(model: nn.Module) -> np.ndarray:
    """The first conv layer's kernels as a (filters, height, width) array (the input has one channel):
    what the network has learned to look for in the pixels themselves."""
    conv = next(m for m in model.features if isinstance(m, nn.Conv2d))
    return conv.weight.detach()[:, 0].float().cpu().numpy()
