"""Morphology on the last two axes of an array (any leading batch axes, any dtype): the one implementation
that preprocessing and the sketch evaluation set (numpy arrays) and sketch-style augmentation (torch
tensors, on the training device) share. Each function takes either kind and returns the same kind: numpy
keeps the app's per-picture work single-threaded, where torch's thread pool would contend with the model
and training for the cores; torch keeps training batches on the GPU."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

Array = np.ndarray | torch.Tensor


def _pad(x: Array, dim: int, before: int, after: int) -> Array:
    if isinstance(x, torch.Tensor):
        return F.pad(x, [before, after] if dim == -1 else [0, 0, before, after])
    widths = [(0, 0)] * x.ndim
    widths[dim] = (before, after)
    return np.pad(x, widths)


def _part(x: Array, dim: int, start: int, length: int) -> Array:
    return x[..., start:start + length] if dim == -1 else x[..., start:start + length, :]


def _maximum(a: Array, b: Array) -> Array:
    return torch.maximum(a, b) if isinstance(a, torch.Tensor) else np.maximum(a, b)


def _copy(x: Array) -> Array:
    return x.clone() if isinstance(x, torch.Tensor) else x.copy()


def _equal(a: Array, b: Array) -> bool:
    return torch.equal(a, b) if isinstance(a, torch.Tensor) else np.array_equal(a, b)


def dilate(x: Array, width: int) -> Array:
    """x (..., H, W) -> the maximum over each width x width window (a square pen of that width; for an
    even width the window reaches one pixel further down and right). Outside the image counts as 0."""
    if width <= 1:
        return _copy(x)
    out = x
    for dim in (-2, -1):
        n = out.shape[dim]
        run, span = _pad(out, dim, width // 2, width - 1 - width // 2), 1  # run[i] = max of `span` pixels from i
        # running maxima that double their span each pass: log2(width) passes instead of width
        while span * 2 <= width:
            m = run.shape[dim] - span
            run = _maximum(_part(run, dim, 0, m), _part(run, dim, span, m))
            span *= 2
        rest = width - span
        out = _maximum(_part(run, dim, 0, n), _part(run, dim, rest, n))
    return out


def erode(mask: Array, width: int) -> Array:
    """Boolean mask (..., H, W) -> the pixels whose whole width x width window is in the mask; the image
    border does not erode (outside the image counts as inside the mask)."""
    return ~dilate(~mask, width)


def _grow_4(region: Array) -> Array:
    """region plus its 4-neighbours (up, down, left, right)."""
    grown = _copy(region)
    grown[..., 1:, :] |= region[..., :-1, :]
    grown[..., :-1, :] |= region[..., 1:, :]
    grown[..., :, 1:] |= region[..., :, :-1]
    grown[..., :, :-1] |= region[..., :, 1:]
    return grown


def fill_holes(wall: Array) -> Array:
    """Boolean mask (..., H, W) -> the mask with every region it encloses filled in (a closed outline ->
    its silhouette): everything the image border cannot reach without crossing the mask.

    The outside grows through 4-neighbours only, so two stroke pixels touching at a corner close a
    gap: a one-pixel line drawn at an angle is rasterised as pixels that touch only diagonally (PIL,
    Bresenham, a mouse stroke shrunk to 56 or 28 pixels), and a person sees such an outline as closed.
    (8-connected strokes with a 4-connected background is also the pairing under which a closed curve
    separates the plane, so exactly one of "the gap is open" / "the stroke is closed" holds.)"""
    outside = torch.zeros_like(wall) if isinstance(wall, torch.Tensor) else np.zeros_like(wall)
    outside[..., [0, -1], :] = True
    outside[..., :, [0, -1]] = True
    outside &= ~wall
    while True:  # grow the outside from the border, never through the wall
        grown = _grow_4(outside) & ~wall
        if _equal(grown, outside):
            return ~outside
        outside = grown
