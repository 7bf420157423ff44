"""Morphology on the last two axes of a tensor (any leading batch axes, any device, any dtype): the one
implementation that preprocessing (numpy arrays through `torch.from_numpy`), sketch-style augmentation
(batches on the training device) and the sketch evaluation set share."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def dilate(x: torch.Tensor, width: int) -> torch.Tensor:
    """x (..., H, W) -> the maximum over each width x width window (a square pen of that width; for an
    even width the window reaches one pixel further down and right). Outside the image counts as 0."""
    if width <= 1:
        return x.clone()
    out = x
    for dim in (-2, -1):
        n = out.shape[dim]
        pad = [0, 0, 0, 0]  # F.pad order: last axis (left, right), then the one before (top, bottom)
        pad[0 if dim == -1 else 2], pad[1 if dim == -1 else 3] = width // 2, width - 1 - width // 2
        run, span = F.pad(out, pad), 1  # run[i] = max of `span` pixels from i
        # running maxima that double their span each pass: log2(width) passes instead of width
        while span * 2 <= width:
            m = run.shape[dim] - span
            run = torch.maximum(run.narrow(dim, 0, m), run.narrow(dim, span, m))
            span *= 2
        rest = width - span
        out = torch.maximum(run.narrow(dim, 0, n), run.narrow(dim, rest, n))
    return out


def erode(mask: torch.Tensor, width: int) -> torch.Tensor:
    """Boolean mask (..., H, W) -> the pixels whose whole width x width window is in the mask; the image
    border does not erode (outside the image counts as inside the mask)."""
    return ~dilate(~mask, width)


def _grow_4(region: torch.Tensor) -> torch.Tensor:
    """region plus its 4-neighbours (up, down, left, right)."""
    grown = region.clone()
    grown[..., 1:, :] |= region[..., :-1, :]
    grown[..., :-1, :] |= region[..., 1:, :]
    grown[..., :, 1:] |= region[..., :, :-1]
    grown[..., :, :-1] |= region[..., :, 1:]
    return grown


def fill_holes(wall: torch.Tensor) -> torch.Tensor:
    """Boolean mask (..., H, W) -> the mask with every region it encloses filled in (a closed outline ->
    its silhouette): everything the image border cannot reach without crossing the mask.

    The outside grows through 4-neighbours only, so two stroke pixels touching at a corner close a
    gap: a one-pixel line drawn at an angle is rasterised as pixels that touch only diagonally (PIL,
    Bresenham, a mouse stroke shrunk to 56 or 28 pixels), and a person sees such an outline as closed.
    (8-connected strokes with a 4-connected background is also the pairing under which a closed curve
    separates the plane, so exactly one of "the gap is open" / "the stroke is closed" holds.)"""
    outside = torch.zeros_like(wall)
    outside[..., [0, -1], :] = True
    outside[..., :, [0, -1]] = True
    outside &= ~wall
    while True:  # grow the outside from the border, never through the wall
        grown = _grow_4(outside) & ~wall
        if torch.equal(grown, outside):
            return ~outside
        outside = grown
