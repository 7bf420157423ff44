"""Training-time augmentation: mirror images and small shifts, plus renderings that make photos look
like what students draw (filled silhouettes and outlines of varied stroke width)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fmnist.data import remember_last, to_float
from fmnist.morphology import erode, fill_holes

INK = 0.1  # pixels brighter than this (0..1) belong to the garment's silhouette
FILLED, OUTLINED = 0.25, 0.25  # share of each batch drawn as filled silhouettes / as outlines


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


def sketch_augment(x: torch.Tensor, masks: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Images (N, 1, 28, 28) in [0, 1] and their `silhouettes` -> FILLED of them as filled silhouettes,
    OUTLINED as outlines 1-3 pixels wide (both `squash`ed), the rest unchanged; half mirrored
    left-right, and the batch shifted by up to 2 pixels."""
    n = len(x)
    kind = torch.rand(n, generator=generator).to(x.device).view(n, 1, 1, 1)
    thick = (torch.rand(n, generator=generator) < 0.5).to(x.device).view(n, 1, 1, 1)
    mirror = (torch.rand(n, generator=generator) < 0.5).to(x.device).view(n, 1, 1, 1)
    inside = masks > 0
    outline = masks * ~torch.where(thick, erode(inside, 5), erode(inside, 3))
    drawn = torch.where(kind < FILLED, masks, outline)
    out = torch.where(kind < FILLED + OUTLINED, squash(drawn, generator), x)
    out = torch.where(mirror, out.flip(-1), out)
    dy, dx = torch.randint(-2, 3, (2,), generator=generator).tolist()
    return torch.roll(out, shifts=(dy, dx), dims=(2, 3))


def preview(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A few uint8 training images (N, 28, 28) as `sketch_augment` hands them to the network: float
    (N, 28, 28) in [0, 1]. For showing students what the augmentation does; the silhouettes of N images
    take a moment, not the whole dataset's seconds."""
    x = to_float(images, mean=0.0, std=1.0)
    return sketch_augment(x, silhouettes(x), torch.Generator().manual_seed(seed))[:, 0]
