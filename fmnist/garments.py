"""Procedural garment drawings for training: a random garment of each class built from its parts (sleeves, collar,
lapels, zip, hood, pockets; soles, straps, laces, heels; handles, flaps) with random proportions, drawn with a
random pen. They teach the net the cues a person's drawing carries and a photo's silhouette does not: a coat's
open front and lapels, a shirt's collar and placket, a hoodie's hood, a sneaker's laces, a boot's upright shaft.
Written apart from the sketch set's held-out garment designs (its "designs" column) and never reads them."""

from __future__ import annotations

import functools

import numpy as np
import torch
from PIL import Image, ImageDraw

from fmnist.augment import colour_in_drawing, fork_map
from fmnist.data import TOPS
from fmnist.preprocess import ink_to_model_image

SIDE = 224  # canvas pixels the drawings are made on
SHOES = (5, 7, 9)
PRINTABLE = TOPS + (3,)  # what may carry a print (--patterns): the tops and dresses
FRONTED = (4, 6)  # Coat, Shirt: told from a pullover by their fronts (an opening, lapels, a collar, a placket), the
# details --rub-details keeps visible on a coloured-in drawing
RUB_PEN = 8  # canvas pixels (1.25 model pixels): the narrowest eraser --rub-details rubs details out with
PER_CLASS = 6000  # drawings of each class in the training bank
DOODLES = 12000  # drawings of no garment in the training bank


class Parts:
    """One garment in garment units (x to the right, y down, toe of a shoe to the left): the outer outline (closed),
    details (drawn as lines; left off or rubbed out when coloured in) and parts (straps, handles: always inked)."""

    def __init__(self, closed: bool = True) -> None:
        self.closed = closed  # the outline is a closed shape (False: an open stroke, never coloured in)
        self.outline: list[tuple[float, float]] = []
        self.details: list[list[tuple[float, float]]] = []
        self.parts: list[list[tuple[float, float]]] = []

    def detail(self, *points, mirror: bool = False) -> None:
        self.details.append(list(points))
        if mirror:
            self.details.append([(-x, y) for x, y in points])

    def dots(self, x: float, ys) -> None:
        self.details.extend([[(x, float(y))] for y in ys])


def _mirrored(left: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A symmetric outline from its left half (centre top to centre bottom, x <= 0)."""
    return left + [(-x, y) for x, y in reversed(left) if x < 0]


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 7):
    """Points on an ellipse from angle start to stop (degrees, 0 = right, 90 = down)."""
    a = np.radians(np.linspace(start, stop, n))
    return [(float(cx + rx * np.cos(t)), float(cy + ry * np.sin(t))) for t in a]


def _top(label: int, rng: np.random.Generator, extra: float = 0.0) -> Parts:
    """T-shirt/top (0), Pullover (2), Coat (4) or Shirt (6) from the front; extra: the chance a sleeveless top is a
    vest (thin straps, a deep round neck) and a shirt has checks (lines across it and down it)."""
    g, u = Parts(), rng.uniform
    sleeveless = label == 0 and u() < 0.2
    long_sleeves = label in (2, 4) or (label == 6 and u() < 0.75)
    hood = (label == 2 and u() < 0.3) or (label == 4 and u() < 0.25)
    nw = u(0.1, 0.18)  # neck half-width
    shw = u(0.36, 0.5)  # shoulder half-width
    sdy = u(0.02, 0.1)  # shoulder drop
    bw = u(0.3, 0.42)  # body half-width under the arm
    # a coat may be a jacket: hip-length like a pullover, told apart by its open front (a zip to the chin, or lapels)
    jacket = label == 4 and u() < 0.4
    length = {0: u(0.85, 1.3), 2: u(0.85, 1.25), 4: u(0.8, 1.15) if jacket else u(1.15, 1.9), 6: u(0.95, 1.4)}[label]
    hw = bw * (u(1.0, 1.3) if label == 4 and not jacket else u(0.92, 1.12))
    zipped = jacket and u() < 0.5  # a zip jacket: closed to the neck
    if zipped:
        neck = u(0.02, 0.08)
    elif label == 4 or (label == 2 and u() < 0.3):
        neck = u(0.25, 0.55) if label == 4 else u(0.15, 0.35)  # open front / V neck
    else:
        neck = u(0.03, 0.12)
    if sleeveless:
        nw, shw = u(0.14, 0.22), u(0.26, 0.34)
        if extra and u() < extra:  # a vest: thin straps over a deep round neck
            shw, scoop = u(0.24, 0.32), u(0.15, 0.35)
            nw = shw - u(0.03, 0.08)
            neckline = [(float(x), float(y)) for x, y in _arc(0.0, 0.0, nw, scoop, 90, 180, 5)]
            left = neckline + [(-shw, 0.0), (-bw * u(0.9, 1.0), u(0.2, 0.35)), (-hw, length), (0.0, length)]
        else:
            left = [(0.0, neck), (-nw, 0.0), (-shw, 0.0), (-bw * 0.95, u(0.2, 0.35)), (-hw, length), (0.0, length)]
        g.outline = _mirrored(left)
        return g
    if long_sleeves:
        angle, sl, sw = np.radians(u(12, 45)), length * u(0.75, 1.05), u(0.13, 0.2)
    else:
        angle, sl, sw = np.radians(u(35, 70)), u(0.18, 0.36), u(0.14, 0.22)
    shoulder = np.array([-shw, sdy])
    down, inward = np.array([-np.sin(angle), np.cos(angle)]), np.array([np.cos(angle), np.sin(angle)])
    cuff_out = shoulder + down * sl
    cuff_in = cuff_out + inward * sw
    armpit = np.array([-bw, sdy + u(0.18, 0.32)])
    if cuff_in[0] > -bw - 0.03:  # a hanging sleeve would cross the body: move it out
        cuff_in[0], cuff_out[0] = -bw - 0.04, min(cuff_out[0], -bw - 0.04 - sw * 0.8)
    left = [(0.0, neck), (-nw, 0.0)]
    if hood:
        left = [(0.0, -u(0.3, 0.42)), (-nw * u(1.0, 1.4), -u(0.15, 0.28)), (-nw * u(1.2, 1.6), u(0.02, 0.08))]
        g.detail(*_arc(0, u(-0.12, -0.05), nw * u(0.55, 0.8), u(0.12, 0.2), 180, 360), mirror=False)
    left += [tuple(shoulder), tuple(cuff_out), tuple(cuff_in), tuple(armpit), (-hw, length), (0.0, length)]
    g.outline = _mirrored([(float(x), float(y)) for x, y in left])

    def band(y: float) -> None:
        g.detail((-hw * 0.98, y), (hw * 0.98, y))

    def cuffs() -> None:
        a, b = cuff_out - down * u(0.04, 0.08), cuff_in - down * u(0.04, 0.08)
        g.detail(tuple(a), tuple(b), mirror=True)

    front_top = 0.0 if hood else neck
    if label == 0:
        if u() < 0.4:
            g.detail(*_arc(0, 0, nw, neck + u(0.03, 0.08), 0, 180))
        if u() < 0.12:  # a polo: a small collar and a short placket
            g.detail((-nw, 0), (-nw * 0.4, u(0.1, 0.16)), (0, neck), mirror=True)
            g.detail((0, neck), (0, neck + u(0.15, 0.25)))
        if u() < 0.25:
            x, y, s = -u(0.1, 0.2), u(0.25, 0.4), u(0.1, 0.14)
            g.detail((x - s, y), (x, y), (x, y + s), (x - s, y + s), (x - s, y))
        if u() < 0.3:
            band(length - u(0.03, 0.08))
    elif label == 2:
        if u() < 0.6:
            band(length - u(0.05, 0.12))
        if u() < 0.5:
            cuffs()
        if hood and u() < 0.7:  # kangaroo pocket and drawstrings
            y = length * u(0.55, 0.7)
            g.detail((-bw * 0.6, length * 0.9), (-bw * 0.45, y), (bw * 0.45, y), (bw * 0.6, length * 0.9),
                     (-bw * 0.6, length * 0.9))
            g.detail((-nw * 0.5, u(0.03, 0.08)), (-nw * 0.5, u(0.18, 0.3)), mirror=True)
        elif not hood and u() < 0.4:
            g.detail(*_arc(0, 0, nw, neck + u(0.04, 0.08), 0, 180))
        if u() < 0.15:  # a turtleneck's roll
            g.detail((-nw, -u(0.06, 0.12)), (nw, -u(0.06, 0.12)))
        if u() < 0.15:  # cable knit
            for x in rng.uniform(-bw * 0.7, bw * 0.7, int(rng.integers(2, 4))):
                g.detail((float(x), neck + 0.1), (float(x), length * 0.9))
    elif label == 4:
        if zipped or u() < 0.9:  # the open front: a zip or the coat's edge, neck to hem
            g.detail((0, front_top), (0, length))
        if zipped:  # a stand-up collar, a hem band, diagonal pockets
            if not hood and u() < 0.6:
                g.detail((-nw, 0), (-nw, -u(0.05, 0.1)), (-0.02, -u(0.05, 0.1)), (-0.02, neck), mirror=True)
            if u() < 0.6:
                band(length - u(0.05, 0.1))
            if u() < 0.5:
                x, y = -hw * u(0.35, 0.6), length * u(0.5, 0.65)
                g.detail((x - 0.05, y + 0.15), (x + 0.05, y), mirror=True)
        elif not hood and u() < 0.65:  # lapels
            depth = u(0.15, 0.3)
            g.detail((-nw, 0), (-nw - u(0.02, 0.1), depth), (-u(0.02, 0.06), neck * 0.7), (0, neck), mirror=True)
        if u() < 0.5:
            x = u(0.03, 0.1)
            ys = np.linspace(neck + 0.1, length * u(0.6, 0.9), int(rng.integers(2, 5)))
            g.dots(-x, ys)
            if u() < 0.4:
                g.dots(x, ys)
        if u() < 0.5:  # hip pockets
            y, w = length * u(0.55, 0.75), u(0.08, 0.14)
            x = -hw * u(0.4, 0.65)
            if u() < 0.5:
                g.detail((x - w, y), (x + w, y), mirror=True)
            else:
                g.detail((x - w, y), (x + w, y), (x + w, y + w * 1.2), (x - w, y + w * 1.2), (x - w, y), mirror=True)
        if u() < 0.3:  # a belt
            y = length * u(0.4, 0.55)
            g.detail((-bw * 1.02, y), (bw * 1.02, y))
        if u() < 0.3:  # quilting
            for y in np.linspace(0.3, length * 0.85, int(rng.integers(2, 5))):
                g.detail((-bw, float(y)), (bw, float(y)))
        if u() < 0.3:
            cuffs()
    else:  # shirt
        if u() < 0.85:  # collar points
            g.detail((-nw, 0), (-nw * u(0.2, 0.6), u(0.12, 0.22)), (0, neck), mirror=True)
        if u() < 0.85:  # placket
            g.detail((0, neck), (0, length))
            if u() < 0.7:
                g.dots(u(-0.05, 0.05), np.linspace(neck + 0.1, length * 0.9, int(rng.integers(3, 7))))
        if u() < 0.4:  # chest pocket
            x, y, s = -u(0.1, 0.22), u(0.22, 0.35), u(0.08, 0.13)
            g.detail((x - s, y), (x, y), (x, y + s), (x - s, y + s), (x - s, y))
        if long_sleeves and u() < 0.6:
            cuffs()
        if extra and u() < extra:  # checks (a flannel shirt): lines across the body, and down it either side
            y0 = u(0.2, 0.4)
            for y in np.linspace(length * u(0.35, 0.5), length * u(0.7, 0.9), int(rng.integers(1, 4))):
                g.detail((-bw, float(y)), (bw, float(y)))
            for x in rng.uniform(0.08, bw * 0.8, int(rng.integers(1, 3))):
                g.detail((-float(x), y0), (-float(x), length), mirror=True)
    return g


def _dress(rng: np.random.Generator) -> Parts:
    g, u = Parts(), rng.uniform
    nw, shw, ww = u(0.08, 0.16), u(0.18, 0.3), u(0.13, 0.22)
    waist, length = u(0.3, 0.55), u(1.3, 2.4)
    hem = ww + u(0.08, 0.55)
    left = [(0.0, u(0.05, 0.25)), (-nw, 0.0)]
    style = rng.integers(4)
    if style == 0:  # straps
        left += [(-nw - 0.03, 0.0), (-shw, u(0.12, 0.22))]
    elif style == 1:  # short sleeves
        left += [(-shw, 0.03), (-shw - u(0.1, 0.18), u(0.12, 0.2)), (-shw - u(0.0, 0.05), u(0.25, 0.3)),
                 (-shw + 0.04, u(0.2, 0.26))]
    elif style == 2:  # strapless: a straight top edge
        left = [(0.0, 0.0), (-shw, 0.0)]
    else:  # sleeveless
        left += [(-shw, 0.02), (-shw + 0.02, u(0.15, 0.25))]
    if rng.random() < 0.25:  # a mermaid / pencil skirt: straight, flaring at the bottom
        left += [(-ww, waist), (-ww * u(0.9, 1.2), length * 0.75), (-hem, length), (0.0, length)]
    else:
        left += [(-ww, waist), (-hem, length), (0.0, length)]
    g.outline = _mirrored(left)
    if u() < 0.5:
        g.detail((-ww, waist), (ww, waist))
    if u() < 0.2:  # a shirt dress's buttons
        g.dots(0.0, np.linspace(0.15, waist, 3))
    return g


def _trousers(rng: np.random.Generator) -> Parts:
    g, u = Parts(), rng.uniform
    w, length = u(0.28, 0.42), u(1.5, 2.6)
    crotch = length * u(0.2, 0.38)
    hem_out, hem_in = w * u(0.6, 1.5), u(0.02, 0.12)
    knee = (-w * u(0.85, 1.0), length * 0.55)
    if u() < 0.3:  # legs drawn as one block, the gap a line
        g.outline = _mirrored([(0.0, 0.0), (-w, 0.0), knee, (-hem_out, length), (0.0, length)])
        g.detail((0, crotch), (0, length))
    else:
        g.outline = _mirrored([(0.0, 0.0), (-w, 0.0), knee, (-hem_out, length), (-hem_in, length), (0.0, crotch)])
    if u() < 0.6:
        g.detail((-w, u(0.06, 0.12)), (w, u(0.06, 0.12)))
    if u() < 0.3:
        g.detail((-w * 0.85, 0.1), (-w * 0.5, 0.02), mirror=True)
    if u() < 0.25:
        g.detail((0, 0.08), (0, crotch * 0.9))
    return g


def _sandal(rng: np.random.Generator, extra: float = 0.0) -> Parts:
    """extra: the chance of a strap over the whole foot, from the toes to the ankle, instead of the short ones (a
    T-bar, a slingback)."""
    g, u = Parts(), rng.uniform
    thick, heel = u(0.05, 0.12), u() < 0.35
    if heel:
        rise = u(0.2, 0.5)
        g.outline = [(0.0, 0.0), (0.08, -0.03), (0.5, -0.04), (0.85, -rise), (1.0, -rise), (1.0, -rise + thick),
                     (0.96, -rise + thick), (0.95, thick), (0.88, thick), (0.86, -rise + thick * 1.5),
                     (0.5, thick * 0.8), (0.04, thick)]
    else:
        g.outline = [(0.0, 0.0), (0.06, -thick * 0.5), (1.0, -thick * 0.6), (1.0, thick * 0.5), (0.05, thick * 0.6)]

    def top(x: float) -> float:  # the sole's upper edge at x (rising to the heel)
        return -0.04 - (0.0 if not heel else max(0.0, (x - 0.5) / 0.35) * (rise - 0.04))

    if extra and u() < extra:  # one strap from the toes to the ankle, the foot's gap under it; a bar down from it
        x0, x1, h = u(0.05, 0.25), u(0.7, 0.95), u(0.18, 0.4)
        arch = [(x0, top(x0)), (x0 + u(0.1, 0.2), top(x0) - h * u(0.6, 0.9)), (x1 - u(0.05, 0.15), top(x1) - h),
                (x1, top(x1))]
        g.parts.append([(float(x), float(y)) for x, y in arch])
        if u() < 0.6:
            xm = u(0.35, 0.6)
            g.parts.append([(xm, top(xm) - h * u(0.8, 1.0)), (xm + u(-0.05, 0.05), top(xm))])
        if u() < 0.5:  # an ankle strap
            g.parts.append([(x1 - 0.1, top(x1) - h), (x1 + 0.02, top(x1) - h * u(1.1, 1.5)), (0.98, top(0.98))])
        return g
    n = int(rng.integers(1, 4))
    for x in np.sort(rng.uniform(0.1, 0.75, n)):
        x, w = float(x), u(0.08, 0.2)
        g.parts.append([(x - w, top(x - w)), (x, top(x) - u(0.15, 0.3)), (x + w, top(x + w))])
    if u() < 0.5:  # heel strap
        g.parts.append([(0.78, top(0.78)), (0.82, top(0.82) - u(0.2, 0.4)), (0.97, top(0.97))])
    if u() < 0.2:  # a gladiator's cage
        for k in range(int(rng.integers(2, 4))):
            y = top(0.9) - 0.1 * (k + 1)
            g.parts.append([(0.6, y + 0.05), (0.98, y)])
    return g


def _sneaker(rng: np.random.Generator) -> Parts:
    g, u = Parts(), rng.uniform
    h, collar = u(0.3, 0.5), u(0.55, 0.75)
    sole = u(0.06, 0.14)
    g.outline = [(0.0, -u(0.05, 0.12)), (0.06, -sole - u(0.05, 0.12)), (0.35, -h * u(0.55, 0.75)), (collar, -h),
                 (collar + 0.08, -h * u(0.85, 1.0)), (0.98, -h * u(0.9, 1.05)), (1.0, -sole), (0.98, 0.0),
                 (0.03, 0.0)]
    if u() < 0.7:
        g.detail((0.01, -sole), (0.99, -sole))
    if u() < 0.6:  # laces
        for t in np.linspace(0.2, 0.8, int(rng.integers(2, 5))):
            x, y = 0.35 + (collar - 0.35) * t, -h * (0.6 + 0.4 * t)
            g.detail((float(x) - 0.04, float(y) + 0.03), (float(x) + 0.05, float(y) + 0.06))
    if u() < 0.3:  # a swoosh or side stripes
        g.detail((0.3, -sole - 0.05), (0.6, -h * 0.4), (0.85, -h * 0.75))
    if u() < 0.3:  # toe cap
        g.detail((0.06, -sole - 0.1), (0.2, -h * 0.5), (0.22, -sole))
    return g


def _backpack(rng: np.random.Generator) -> Parts:
    """A backpack from the front: taller than wide, rounded at the top, a loop to carry it by, often a pocket on the
    front and the shoulder straps showing at its sides."""
    g, u = Parts(), rng.uniform
    w, h = u(0.65, 0.9), u(0.8, 1.1)
    r = w * u(0.15, 0.5)  # the top corners' radius
    flare = u(1.0, 1.12)  # wider at the bottom
    g.outline = [(float(x), float(y)) for x, y in _arc(-w / 2 + r, r, r, r, 180, 270, 4)
                 + _arc(w / 2 - r, r, r, r, 270, 360, 4) + [(w / 2 * flare, h), (-w / 2 * flare, h)]]
    if u() < 0.75:  # a loop on top
        g.parts.append(_arc(0.0, 0.0, w * u(0.1, 0.2), h * u(0.08, 0.18), 180, 360, 5))
    if u() < 0.65:  # a pocket on the front
        top_, bottom, half = h * u(0.45, 0.65), h * u(0.85, 0.95), w * u(0.25, 0.4)
        g.detail((-half, top_), (half, top_), (half, bottom), (-half, bottom), (-half, top_))
    if u() < 0.35:  # a zip or a flap across the top
        y = h * u(0.2, 0.35)
        g.detail((-w / 2 * 0.9, y), (w / 2 * 0.9, y))
    if u() < 0.4:  # the shoulder straps at the sides
        for side in (-1, 1):
            g.parts.append([(side * w / 2 * 0.9, r * 0.8), (side * w / 2 * u(1.05, 1.2), h * 0.5),
                            (side * w / 2 * flare * 0.95, h * 0.9)])
    return g


def _bag(rng: np.random.Generator, extra: float = 0.0) -> Parts:
    """extra: the chance of a backpack (`_backpack`)."""
    if extra and rng.uniform() < extra:
        return _backpack(rng)
    g, u = Parts(), rng.uniform
    w, h = u(0.7, 1.2), u(0.45, 0.9)
    taper = u(0.0, 0.15) * w
    g.outline = [(-w / 2 + taper, 0.0), (w / 2 - taper, 0.0), (w / 2, h), (-w / 2, h)]
    kind = rng.integers(4)
    if kind == 0:  # one handle
        hw = w * u(0.2, 0.35)
        g.parts.append(_arc(0, 0, hw, h * u(0.3, 0.6), 180, 360))
    elif kind == 1:  # two handles
        for x in (-w * 0.2, w * 0.2):
            g.parts.append(_arc(x, 0, w * u(0.08, 0.14), h * u(0.3, 0.5), 180, 360, 5))
    elif kind == 2:  # a shoulder strap
        g.parts.append([(-w / 2 + taper, 0.0), (0.0, -h * u(0.6, 1.0)), (w / 2 - taper, 0.0)])
    if u() < 0.4:  # a flap
        y = h * u(0.3, 0.55)
        g.detail((-w / 2 + taper * 0.7, 0.02), (0.0, y), (w / 2 - taper * 0.7, 0.02))
    if u() < 0.3:  # a clasp
        g.dots(0.0, [h * u(0.3, 0.55)])
    if u() < 0.2:  # a pocket
        y = h * u(0.45, 0.6)
        g.detail((-w * 0.3, y), (w * 0.3, y), (w * 0.3, h * 0.9), (-w * 0.3, h * 0.9), (-w * 0.3, y))
    return g


def _boot(rng: np.random.Generator) -> Parts:
    g, u = Parts(), rng.uniform
    shaft, sx = u(0.55, 0.95), u(0.35, 0.55)  # shaft height, its front's x
    heel = u() < 0.6
    outline = [(sx, -shaft), (0.97, -shaft), (0.98, -0.1)]
    if heel:
        hh = u(0.08, 0.2)
        outline += [(1.0, -hh), (1.0, 0.0), (0.78, 0.0), (0.76, -hh * 0.8), (0.35, -hh * 0.5), (0.0, -hh * 0.3)]
    else:
        outline += [(1.0, 0.0), (0.02, 0.0)]
    outline += [(0.0, -u(0.12, 0.2)), (0.12, -u(0.22, 0.35)), (sx, -u(0.35, 0.5))]
    g.outline = outline
    if u() < 0.3:
        g.detail((0.85, -shaft + 0.05), (0.86, -0.15))
    if u() < 0.3:  # laces up the front of the shaft
        for y in np.linspace(-shaft + 0.1, -0.4, int(rng.integers(2, 4))):
            g.detail((sx - 0.01, float(y)), (sx + 0.12, float(y) + 0.04))
    if u() < 0.4:
        g.detail((0.01, -0.07), (0.99, -0.07))
    if u() < 0.2:  # a pull tab
        g.parts.append([(0.9, -shaft), (0.93, -shaft - 0.1), (0.97, -shaft)])
    return g


# TOPS (fmnist.data): one builder, the class deciding the parts
BUILDERS = {1: _trousers, 3: _dress, 5: _sandal, 7: _sneaker, 8: _bag, 9: _boot}


EXTRA_STYLES = (0, 5, 6, 8)  # what --extra-styles draws more of: vests, sandals strapped over the foot, checked
# shirts, backpacks


def garment(label: int, rng: np.random.Generator, extra: float = 0.0) -> Parts:
    """A random garment of class `label` (0-9); extra: the chance that a sleeveless top is a vest, a sandal is
    strapped over the whole foot, a shirt has checks and a bag is a backpack (0 draws no extra random number: the
    garments of the code before it)."""
    extra = extra if label in EXTRA_STYLES else 0.0
    if label in TOPS:
        return _top(label, rng, extra)
    return BUILDERS[label](rng, extra) if label in EXTRA_STYLES else BUILDERS[label](rng)


def garment_drawing(label: int, rng: np.random.Generator, strokes: float = 0.0, patterns: float = 0.0,
                    rub: float = 0.0, extra: float = 0.0) -> np.ndarray:
    """A random garment of class `label` drawn as on the sketchpad (wobbly, not always closed, a thin or thick
    pen, coloured in a third of the time, mirrored half the time, shoes tilted up to 25 degrees), through the
    app's own `ink_to_model_image` -> uint8 (28, 28); strokes: the chance that a coloured-in one is coloured with
    back-and-forth strokes (`fmnist.augment.colour_in`) instead of solid; patterns: the chance that a top or a dress
    (PRINTABLE) drawn as an outline carries a print (`with_print`); rub: the chance that a coloured-in coat or shirt
    (FRONTED) has its details rubbed out with an eraser at least RUB_PEN wide, never left off (rub 0 or 1 draws
    no extra random number: the banks of rub 0 are those of the code before it); extra: `garment`'s."""
    g = garment(label, rng, extra)
    return _draw(g, rng.uniform(-25, 25) if label in SHOES else rng.uniform(-6, 6), rng, strokes,
                 patterns if label in PRINTABLE else 0.0, rub if label in FRONTED else 0.0)


def doodle(rng: np.random.Generator) -> Parts:
    """Something that is no garment: random strokes, a zigzag, a spiral, a circle, a star, a house, a face, a sun,
    a heart, an arrow or a few letters' worth of lines."""
    u, kind = rng.uniform, int(rng.integers(10))
    g = Parts(closed=kind in (3, 4, 5, 6, 7, 8))
    if kind == 0:  # random strokes
        g.outline = [tuple(p) for p in rng.uniform(0, 1, (int(rng.integers(3, 9)), 2))]
        g.parts = [[tuple(p) for p in rng.uniform(0, 1, (int(rng.integers(2, 6)), 2))]
                   for _ in range(int(rng.integers(0, 3)))]
    elif kind == 1:  # a zigzag
        n = int(rng.integers(4, 12))
        g.outline = [(i / n, float(i % 2) * u(0.3, 1.0)) for i in range(n + 1)]
    elif kind == 2:  # a spiral
        t = np.linspace(0, u(2, 5) * np.pi, 40)
        r = t / t[-1]
        g.outline = list(zip((r * np.cos(t)).tolist(), (r * np.sin(t)).tolist()))
    elif kind == 3:  # a circle or an ellipse
        g.outline = _arc(0, 0, 1, u(0.5, 1.0), 0, 360, 16)[:-1]
    elif kind == 4:  # a star
        n, inner = int(rng.integers(4, 8)), u(0.3, 0.6)
        a = np.linspace(-np.pi / 2, 1.5 * np.pi, 2 * n, endpoint=False)
        r = np.where(np.arange(2 * n) % 2, inner, 1.0)
        g.outline = list(zip((r * np.cos(a)).tolist(), (r * np.sin(a)).tolist()))
    elif kind == 5:  # a house
        roof = u(0.3, 0.7)
        g.outline = [(0.0, roof), (0.5, 0.0), (1.0, roof), (1.0, 1.4), (0.0, 1.4)]
        g.detail((0.4, 1.4), (0.4, 1.0), (0.6, 1.0), (0.6, 1.4))
        if u() < 0.5:
            g.detail((0.1, roof + 0.15), (0.3, roof + 0.15), (0.3, roof + 0.35), (0.1, roof + 0.35), (0.1, roof + 0.15))
    elif kind == 6:  # a face
        g.outline = _arc(0, 0, 1, u(0.8, 1.2), 0, 360, 16)[:-1]
        g.dots(-0.35, [-0.3])
        g.dots(0.35, [-0.3])
        g.detail(*_arc(0, 0.1, 0.5, 0.4 * (1 if u() < 0.7 else -1), 20, 160, 6))
    elif kind == 7:  # a sun
        g.outline = _arc(0, 0, 0.5, 0.5, 0, 360, 12)[:-1]
        for a in np.linspace(0, 2 * np.pi, int(rng.integers(5, 12)), endpoint=False):
            g.parts.append([(0.65 * np.cos(a), 0.65 * np.sin(a)), (np.cos(a), np.sin(a))])
    elif kind == 8:  # a heart
        g.outline = _arc(-0.25, 0, 0.25, 0.25, 180, 360, 6) + _arc(0.25, 0, 0.25, 0.25, 180, 360, 6) + [(0.0, 0.8)]
    else:  # an arrow, a cross, a tick or a letter's strokes
        g.outline = [tuple(p) for p in rng.uniform(0, 1, (int(rng.integers(2, 4)), 2))]
        g.parts = [[tuple(p) for p in rng.uniform(0, 1, (2, 2))] for _ in range(int(rng.integers(1, 4)))]
    return g


def doodle_drawing(rng: np.random.Generator) -> np.ndarray:
    """A random `doodle` drawn like `garment_drawing` (at any angle) -> uint8 (28, 28)."""
    return _draw(doodle(rng), rng.uniform(-180, 180), rng)


def _draw(g: Parts, tilt: float, rng: np.random.Generator, strokes: float = 0.0, patterns: float = 0.0,
          rub: float = 0.0) -> np.ndarray:
    """Parts -> uint8 (28, 28), drawn with a random pen (see garment_drawing), tilted by `tilt` degrees."""
    angle = np.radians(tilt)
    turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    flip = np.array([-1.0 if rng.random() < 0.5 else 1.0, 1.0])
    stretch = np.array([rng.uniform(0.8, 1.2), 1.0])
    every = np.array(g.outline + [p for line in g.details + g.parts for p in line], dtype=np.float64)
    centre, extent = (every.min(0) + every.max(0)) / 2, float(np.ptp(every, 0).max())
    scale = SIDE * 0.8 / extent
    wobble = rng.uniform(0.005, 0.02) * extent

    def place(line) -> list[tuple[float, float]]:
        p = np.asarray(line, dtype=np.float64)
        p = ((p - centre + rng.normal(0, wobble, p.shape)) * flip * stretch) @ turn
        return [(float(x), float(y)) for x, y in p * scale + SIDE / 2]

    shape = place(g.outline)
    width = max(1, round(rng.uniform(0.012, 0.08) * SIDE * 0.8))
    canvas = Image.new("L", (SIDE, SIDE), 0)
    pen = ImageDraw.Draw(canvas)
    filled = rng.random() < 0.33 and g.closed
    if filled:
        pen.polygon(shape, fill=255)
        if strokes and rng.random() < strokes:
            canvas = colour_in_drawing(canvas, shape, width, SIDE * 0.8, rng)
            pen = ImageDraw.Draw(canvas)
    else:
        end = [shape[0]] if rng.random() < 0.7 else [tuple(np.add(shape[0], np.subtract(shape[-1], shape[0])
                                                                   * rng.uniform(-0.3, 0.3)))]
        pen.line(shape + (end if g.closed else []), fill=255, width=width, joint="curve")
    if patterns and g.closed and not filled and rng.random() < patterns:  # inked, as on the pad: never rubbed out
        canvas = with_print(canvas, shape, width, rng)
        pen = ImageDraw.Draw(canvas)
    detail_ink = (0 if rng.random() < 0.5 else None) if filled else 255
    eraser = width
    if filled and rub and (rub >= 1 or rng.random() < rub):  # rubbed out, wide enough to show at 28x28
        detail_ink, eraser = 0, max(width, RUB_PEN)
    for lines, value in ((g.details, detail_ink), (g.parts, 255)):
        if value is None:
            continue
        for line in map(place, lines):
            if len(line) == 1:  # a button: a dot the size of the pen
                (cx, cy), r = line[0], max(width * 0.6, 2.0)
                pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=value)
            else:
                pen.line(line, fill=value, width=eraser if value == 0 else width, joint="curve")
    return ink_to_model_image(np.asarray(canvas), min_stroke=True)


def with_print(canvas: Image.Image, shape: list[tuple[float, float]], width: int,
               rng: np.random.Generator) -> Image.Image:
    """A garment's canvas with a print inked inside its outline `shape`, as people decorate a drawn top or dress:
    stripes across (or down, or both ways: checks), dots, or a motif on the chest (a ring, a star, a heart, a scrawled
    word), with the pen or a thinner one, stripes never wider than the paper between them."""
    corners = np.asarray(shape, dtype=np.float64)
    (x0, y0), (x1, y1) = corners.min(0), corners.max(0)
    w, h = x1 - x0, y1 - y0
    layer = Image.new("L", canvas.size, 0)
    ink = ImageDraw.Draw(layer)
    pen = max(1, round(width * rng.uniform(0.4, 1.0)))
    kind = rng.random()
    if kind < 0.6:  # stripes; across three times in four, one time in three of the rest both ways
        ways = ("across",) if rng.random() < 0.75 else ("down",) if rng.random() < 2 / 3 else ("across", "down")
        for way in ways:
            n, slant = int(rng.integers(3, 10)), np.tan(np.radians(rng.uniform(-8, 8)))
            stripe = min(pen, max(1, round((h if way == "across" else w) / n / 2)))  # never wider than the gaps
            for t in (np.arange(n) + rng.uniform(0.2, 0.8)) / n:
                if way == "across":
                    y = y0 + t * h
                    ink.line([(x0, y - slant * w / 2), (x1, y + slant * w / 2)], fill=255, width=stripe)
                else:
                    x = x0 + t * w
                    ink.line([(x - slant * h / 2, y0), (x + slant * h / 2, y1)], fill=255, width=stripe)
    elif kind < 0.8:  # dots
        r = max(1.5, rng.uniform(0.015, 0.04) * max(w, h))
        for cx, cy in rng.uniform((x0, y0), (x1, y1), (int(rng.integers(5, 25)), 2)):
            ink.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    else:  # a motif on the chest
        cx, cy, r = x0 + w * rng.uniform(0.4, 0.6), y0 + h * rng.uniform(0.25, 0.45), w * rng.uniform(0.06, 0.14)
        motif = int(rng.integers(4))
        if motif == 0:
            ink.ellipse((cx - r, cy - r, cx + r, cy + r), outline=255, width=pen)
        elif motif == 1:
            a = np.linspace(-np.pi / 2, 3.5 * np.pi, 6)  # a five-pointed star in one stroke
            ink.line([(cx + r * np.cos(t * 0.8), cy + r * np.sin(t * 0.8)) for t in a], fill=255, width=pen)
        elif motif == 2:
            heart = _arc(-0.5, 0, 0.5, 0.5, 180, 360, 6) + _arc(0.5, 0, 0.5, 0.5, 180, 360, 6) + [(0.0, 1.2)]
            ink.polygon([(cx + r * x, cy + r * y) for x, y in heart], outline=255, width=pen)
        else:
            t = np.linspace(-1, 1, 24)
            ink.line([(cx + 1.6 * r * v, cy + 0.35 * r * np.sin(v * rng.uniform(9, 16))) for v in t], fill=255,
                     width=max(1, pen // 2))
    inside = Image.new("L", canvas.size, 0)
    ImageDraw.Draw(inside).polygon(shape, fill=255)
    out = np.asarray(canvas).copy()
    out[(np.asarray(layer) > 0) & (np.asarray(inside) > 0)] = 255
    return Image.fromarray(out, "L")


def _drawings_part(job: tuple[int, int, int, float, float, float, float]) -> np.ndarray:
    label, count, seed, strokes, patterns, rub, extra = job  # label -1: doodles
    rng = np.random.default_rng(seed)
    return np.stack([doodle_drawing(rng) if label < 0 else garment_drawing(label, rng, strokes, patterns, rub, extra)
                     for _ in range(count)])


def _draw_jobs(jobs: list[tuple[int, int, int, float, float, float, float]], workers: int) -> np.ndarray:
    return np.concatenate(fork_map(_drawings_part, jobs, workers))


@functools.lru_cache(maxsize=1)
def garment_bank(per_class: int = PER_CLASS, seed: int = 0, workers: int = 2,
                 chunk: int = 500, strokes: float = 0.0, patterns: float = 0.0,
                 rub: float = 0.0, extra: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """per_class `garment_drawing`s of every class -> (uint8 (10 * per_class, 28, 28), int64 labels), the same for
    a seed and chunk whatever `workers` is (each chunk has its own random stream). About 1 ms a drawing: made once
    per process and kept."""
    jobs = [(label, min(chunk, per_class - i), seed * 1_000_003 + label * 100_003 + i, strokes, patterns, rub, extra)
            for label in range(10) for i in range(0, per_class, chunk)]
    labels = np.concatenate([np.full(job[1], job[0]) for job in jobs])
    return torch.from_numpy(_draw_jobs(jobs, workers)), torch.from_numpy(labels).long()


@functools.lru_cache(maxsize=1)
def doodle_bank(count: int = DOODLES, seed: int = 0, workers: int = 2, chunk: int = 500) -> torch.Tensor:
    """count `doodle_drawing`s -> uint8 (count, 28, 28), deterministic like garment_bank (its own streams)."""
    jobs = [(-1, min(chunk, count - i), seed * 1_000_003 + 7_777_777 + i, 0.0, 0.0, 0.0, 0.0)
            for i in range(0, count, chunk)]
    return torch.from_numpy(_draw_jobs(jobs, workers))
