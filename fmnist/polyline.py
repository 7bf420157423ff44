"""Polylines as a hand draws them: the one simplification that the sketch evaluation set's designs
(fmnist.sketches) and the training set's hand-drawn renderings (fmnist.augment) share."""

from __future__ import annotations

import numpy as np


def simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Ramer-Douglas-Peucker: the vertices of the open polyline `points` (M, 2) that keep it within `tolerance`
    of the original, as a hand draws a curve with a few straight strokes that still turn at its corners.
    Iterative, so a long contour cannot exhaust the recursion limit."""
    keep = np.zeros(len(points), bool)
    keep[[0, -1]] = True
    stack = [(0, len(points) - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        d = points[b] - points[a]
        rel = points[a + 1:b] - points[a]
        norm = float(np.hypot(*d))
        dist = np.abs(rel[:, 0] * d[1] - rel[:, 1] * d[0]) / norm if norm > 1e-9 else np.hypot(rel[:, 0], rel[:, 1])
        i = int(dist.argmax())
        if dist[i] > tolerance:
            keep[a + 1 + i] = True
            stack += [(a, a + 1 + i), (a + 1 + i, b)]
    return points[keep]
