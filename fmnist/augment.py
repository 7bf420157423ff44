"""Training-time augmentation that makes photos look like what students draw: outline and
silhouette renderings of the garment, with stroke-width and position variation."""

from __future__ import annotations

import torch
import torch.nn.functional as F

INK = 0.1  # pixels brighter than this (0..1) belong to the garment's silhouette


def erode(mask: torch.Tensor, k: int) -> torch.Tensor:
    return -F.max_pool2d(-mask, k, 1, k // 2)


def fill_holes(mask: torch.Tensor) -> torch.Tensor:
    """Binary masks (N, 1, H, W) with enclosed holes filled: a drawer draws the outer contour only."""
    wall = mask > 0
    outside = torch.zeros_like(mask)
    outside[..., [0, -1], :] = 1
    outside[..., :, [0, -1]] = 1
    outside = outside * ~wall
    for _ in range(mask.shape[-1] + mask.shape[-2]):  # grow the outside from the border, never through the garment
        grown = F.max_pool2d(outside, 3, 1, 1) * ~wall
        if torch.equal(grown, outside):
            break
        outside = grown
    return 1 - outside


def sketch_augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Images (N, 1, 28, 28) in [0, 1] -> a quarter as filled silhouettes, a quarter as outlines
    1-3 pixels wide, the rest unchanged; each shifted by up to 2 pixels."""
    n = len(x)
    kind = torch.rand(n, generator=generator).to(x.device).view(n, 1, 1, 1)
    thick = (torch.rand(n, generator=generator) < 0.5).to(x.device).view(n, 1, 1, 1)
    mask = fill_holes((x > INK).float())
    outline = torch.where(thick, mask - erode(mask, 5), mask - erode(mask, 3))
    out = torch.where(kind < 0.25, mask, torch.where(kind < 0.5, outline, x))
    dy, dx = torch.randint(-2, 3, (2,), generator=generator).tolist()
    return torch.roll(out, shifts=(dy, dx), dims=(2, 3))
