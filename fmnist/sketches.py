"""A sketch-style evaluation set, each drawing an RGBA canvas like the sketchpad sends: held-out test
images redrawn as a student would draw them (outlines of varied stroke width, filled silhouettes;
small, off-centre, not square), hand-constructed garment drawings (DRAWINGS, a few per class)
rendered the same ways, and garment designs drawn the way people draw them (DESIGNS, the "designs"
column). Generated from the test split and the templates, never used in training."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from itertools import chain

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from fmnist.data import CLASS_NAMES, FashionMNIST, remember_last, to_float
from fmnist.morphology import erode
from fmnist.predict import judge, predict_proba
from fmnist.polyline import simplify
from fmnist.preprocess import BlankImageError, bare_shape, fill_enclosed, preprocess_drawing

CANVAS = 448  # the app's sketchpad size
KINDS = ("outline", "filled")
COLOURED = "coloured"  # a design coloured in by hand: rows of brush strokes with gaps, no paint bucket (DESIGNS only)
PRINTED = "printed"  # a top or a dress of DESIGNS, outline or solid, with a print on it: stripes, checks, dots, a logo
PRINTED_CLASSES = (0, 2, 3, 4, 6)  # what people draw prints on: T-shirts, pullovers, dresses, coats and shirts
STROKES = (4, 8, 14)  # canvas pixels: a thin pen, the app's default brush, a marker


@dataclass(frozen=True)
class Sketch:
    """One drawing: an RGBA canvas (CANVAS, CANVAS, 4) uint8, its class and how it was drawn."""

    canvas: np.ndarray
    label: int
    kind: str  # "outline", "filled", COLOURED or PRINTED
    stroke: int  # outline width in canvas pixels (0 for filled; the brush's width for COLOURED; PRINTED: the pen's)
    source: str = "test"  # "test" (a test image redrawn), "drawn" (a DRAWINGS template) or "design" (DESIGNS)
    design: str = ""  # the design's name, for source "design"
    pose: Pose | None = None  # how a design was placed (facing, tilt, size), for source "design"


# Hand-constructed drawings: per class, templates of (outline polygon, extra strokes, width/height) in a
# unit box, x to the right and y down; shoes face left as in Fashion-MNIST (draw_template mirrors half).
# Extra strokes are drawn on top in both kinds (a bag's handle, a shirt's button placket, sandal straps).
Point = tuple[float, float]
DRAWINGS: dict[int, list[tuple[list[Point], list[list[Point]], float]]] = {
    0: [  # T-shirt/top: short sleeves; a sleeveless top
        ([(.38, .02), (.2, .06), (0, .3), (.13, .42), (.24, .32), (.24, 1), (.76, 1), (.76, .32), (.87, .42),
          (1, .3), (.8, .06), (.62, .02), (.5, .12)], [], 1.0),
        ([(.3, 0), (.2, .3), (.22, 1), (.78, 1), (.8, .3), (.7, 0), (.5, .15)], [], 0.7),
    ],
    1: [  # Trouser: two legs, straight and flared
        ([(.15, 0), (.85, 0), (.9, 1), (.57, 1), (.5, .3), (.43, 1), (.1, 1)], [], 0.45),
        ([(.2, 0), (.8, 0), (1, 1), (.58, 1), (.5, .35), (.42, 1), (0, 1)], [[(.2, .06), (.8, .06)]], 0.5),
    ],
    2: [  # Pullover: long sleeves down to the hem; a raglan jumper
        ([(.38, .03), (.15, .08), (0, .85), (.14, .9), (.23, .35), (.23, 1), (.77, 1), (.77, .35), (.86, .9),
          (1, .85), (.85, .08), (.62, .03), (.5, .1)], [], 1.05),
        ([(.4, 0), (.2, .05), (.02, .95), (.17, .98), (.25, .4), (.25, .97), (.75, .97), (.75, .4), (.83, .98),
          (.98, .95), (.8, .05), (.6, 0), (.5, .06)], [[(.25, .9), (.75, .9)]], 1.0),
    ],
    3: [  # Dress: A-line with straps; a fitted dress with short sleeves
        ([(.35, 0), (.3, .35), (.05, 1), (.95, 1), (.7, .35), (.65, 0), (.5, .12)], [], 0.55),
        ([(.38, 0), (.22, .06), (.18, .2), (.3, .22), (.3, .45), (.18, 1), (.82, 1), (.7, .45), (.7, .22),
          (.82, .2), (.78, .06), (.62, 0), (.5, .1)], [[(.3, .45), (.7, .45)]], 0.6),
    ],
    4: [  # Coat: long, long sleeves, open collar and a zip; a shorter jacket with a belt
        ([(.36, 0), (.12, .07), (0, .9), (.15, .94), (.2, .38), (.2, 1), (.8, 1), (.8, .38), (.85, .94),
          (1, .9), (.88, .07), (.64, 0), (.5, .3)], [[(.5, .3), (.5, 1)]], 0.9),
        ([(.36, 0), (.14, .06), (.02, .92), (.16, .95), (.22, .4), (.22, .95), (.78, .95), (.78, .4),
          (.84, .95), (.98, .92), (.86, .06), (.64, 0), (.5, .22)], [[(.5, .22), (.5, .95)], [(.22, .6), (.78, .6)]],
         0.95),
    ],
    5: [  # Sandal: a sole with straps; a flip-flop-like sandal with a heel strap
        ([(0, .8), (.15, .72), (1, .72), (1, .92), (0, .92)], [[(.1, .75), (.3, .3), (.55, .75)],
                                                             [(.4, .75), (.65, .35), (.85, .75)],
                                                             [(.75, .75), (.95, .4), (1, .72)]], 2.2),
        ([(0, .85), (.1, .78), (1, .7), (1, .9), (0, .95)], [[(.15, .8), (.35, .45), (.6, .75)],
                                                           [(.35, .45), (.85, .4), (.95, .72)]], 2.0),
    ],
    6: [  # Shirt: long sleeves, a collar and a button placket; cuffed sleeves and a pocket
        ([(.4, 0), (.17, .08), (0, .88), (.15, .92), (.24, .36), (.24, 1), (.76, 1), (.76, .36), (.85, .92),
          (1, .88), (.83, .08), (.6, 0), (.5, .1)], [[(.4, 0), (.5, .15), (.6, 0)], [(.5, .15), (.5, 1)]], 1.0),
        ([(.4, 0), (.18, .07), (.03, .9), (.16, .93), (.25, .38), (.25, 1), (.75, 1), (.75, .38), (.84, .93),
          (.97, .9), (.82, .07), (.6, 0), (.5, .08)],
         [[(.42, 0), (.5, .14), (.58, 0)], [(.5, .14), (.5, 1)], [(.58, .3), (.7, .3), (.7, .42), (.58, .42)]],
         0.95),
    ],
    7: [  # Sneaker: toe on the left, laces; a low trainer with a thick sole
        ([(0, .62), (.3, .45), (.5, .25), (.8, .2), (.95, .3), (1, .75), (1, .9), (0, .9)],
         [[(0, .78), (1, .78)], [(.45, .35), (.55, .45)], [(.55, .28), (.65, .38)]], 2.0),
        ([(.02, .55), (.4, .45), (.6, .3), (.9, .3), (1, .5), (1, .85), (0, .85)], [[(0, .72), (1, .72)]], 2.4),
    ],
    8: [  # Bag: a tote with a handle; a clutch with a flap
        ([(.05, .38), (.95, .38), (1, 1), (0, 1)], [[(.28, .38), (.32, .1), (.5, .02), (.68, .1), (.72, .38)]],
         1.0),
        ([(0, .2), (1, .2), (1, .9), (0, .9)], [[(0, .2), (.5, .55), (1, .2)]], 1.5),
    ],
    9: [  # Ankle boot: toe on the left, shaft on the right, a heel
        ([(.45, 0), (.95, 0), (1, .95), (0, .95), (0, .75), (.1, .62), (.42, .55)], [[(.6, .95), (.7, .85)]], 1.1),
        ([(.5, 0), (.92, 0), (.95, .8), (1, .8), (1, .98), (0, .98), (.02, .72), (.45, .5)], [], 1.0),
    ],
}


# Garment designs drawn the way people draw them (DESIGNS): front views of tops, dresses, coats and trousers,
# side views of shoes (toe to the left, as in Fashion-MNIST; drawings face either way), bags with and without
# handles. Points in a unit box, x to the right and y down; `aspect` is the box's width over its height.
@dataclass(frozen=True)
class Design:
    """One garment design: its outer outline (a closed polygon), the detail strokes drawn inside or on it
    (a collar, buttons as one-point strokes, a zip, laces) and the parts that are strokes of their own (sandal
    straps, a bag's handle), inked in filled drawings too."""

    name: str
    outline: tuple[Point, ...]
    details: tuple[tuple[Point, ...], ...]
    aspect: float  # width / height of the whole drawing (outline, details and parts span the unit box)
    view: str  # "front" (tops, dresses, coats, trousers, bags) or "side" (shoes)
    parts: tuple[tuple[Point, ...], ...] = ()


def _sym(*left: Point) -> tuple[Point, ...]:
    """A left-right symmetric outline from its left half, listed from the top of the centre line to its bottom."""
    right = [(round(1 - x, 4), y) for x, y in reversed(left) if x != 0.5]
    return tuple(left) + tuple(right)


def _pair(*line: Point) -> tuple[tuple[Point, ...], ...]:
    """A detail stroke on the left and its mirror image on the right (a lapel, a pocket, a cuff)."""
    return tuple(line), tuple((round(1 - x, 4), y) for x, y in line)


def _dots(x: float, *ys: float) -> tuple[tuple[Point, ...], ...]:
    """Buttons: one-point strokes, drawn as dots, down a line at x."""
    return tuple(((x, y),) for y in ys)


def _design(name: str, outline, details=(), aspect: float = 1.0, view: str = "front", parts=()) -> Design:
    """A Design with its points stretched to span the unit box, so that `aspect` is the drawing's own."""
    every = np.array([*outline, *(p for d in (*details, *parts) for p in d)], dtype=np.float64)
    low, span = every.min(0), every.max(0) - every.min(0)

    def fit(points) -> tuple[Point, ...]:
        return tuple((round(float(x), 4), round(float(y), 4)) for x, y in (np.asarray(points) - low) / span)

    return Design(name, fit(outline), tuple(fit(d) for d in details), aspect, view, tuple(fit(d) for d in parts))


def _sandal(name: str, sole, straps, aspect: float, view: str = "side") -> Design:
    """A sandal: a sole, and straps that a filled drawing inks too."""
    return _design(name, sole, (), aspect, view, straps)


_TEE = _sym((.5, .1), (.37, .02), (.18, .06), (0, .3), (.12, .4), (.22, .31), (.22, 1), (.5, 1))
_LONG = _sym((.5, .08), (.38, .02), (.17, .07), (0, .88), (.13, .92), (.24, .33), (.24, 1), (.5, 1))
_COAT = _sym((.5, .34), (.38, 0), (.15, .06), (0, .88), (.13, .91), (.22, .35), (.2, 1), (.5, 1))
_HOOD = _sym((.5, 0), (.37, .02), (.31, .12), (.31, .2), (.16, .25), (0, .9), (.13, .93), (.24, .42), (.24, 1),
             (.5, 1))
_SANDAL_SOLE = ((0, .84), (.08, .78), (1, .78), (1, .94), (.05, .96))
_SNEAKER = ((0, .66), (.08, .52), (.4, .42), (.55, .22), (.82, .18), (.95, .24), (1, .55), (1, .88), (.95, .96),
            (.04, .96))
_BOOT = ((.44, 0), (.93, 0), (.96, .72), (1, .78), (1, .98), (0, .98), (0, .8), (.08, .68), (.42, .55))

DESIGNS: dict[int, tuple[Design, ...]] = {
    0: (  # T-shirt/top
        _design("round-neck tee", _TEE),
        _design("v-neck tee", _sym((.5, .26), (.36, .02), (.18, .06), (0, .3), (.12, .4), (.22, .31), (.22, 1),
                                   (.5, 1))),
        _design("boxy tee", _sym((.5, .09), (.38, .02), (.15, .05), (0, .36), (.14, .42), (.2, .33), (.2, .95),
                                 (.5, .95)), aspect=1.15),
        _design("tank top", _sym((.5, .22), (.36, 0), (.28, 0), (.24, .22), (.16, .34), (.17, 1), (.5, 1)),
                aspect=0.68),
        _design("crop top", _sym((.5, .14), (.37, .02), (.17, .08), (0, .48), (.15, .6), (.23, .46), (.23, 1),
                                 (.5, 1)), aspect=1.45),
        _design("polo shirt", _TEE, (*_pair((.37, .02), (.43, .17), (.5, .1)), ((.5, .1), (.5, .3)),
                                     *_dots(.5, .17, .25)), aspect=1.0),
        _design("raglan tee", _TEE, _pair((.38, .03), (.2, .32)), aspect=1.05),
        _design("tee with a pocket", _sym((.5, .11), (.38, .02), (.19, .05), (.02, .3), (.13, .39), (.23, .3),
                                          (.22, .97), (.5, 1)),
                (((.3, .32), (.42, .32), (.42, .46), (.3, .46), (.3, .32)),), aspect=0.95),
        _design("long-line tee", _sym((.5, .08), (.38, .02), (.2, .05), (.02, .24), (.13, .31), (.24, .24),
                                      (.24, 1), (.5, 1)), aspect=0.8),
    ),
    1: (  # Trouser: front view, the gap between the legs drawn as a notch or as one line
        _design("straight trousers", ((.1, 0), (.9, 0), (.92, 1), (.56, 1), (.5, .3), (.44, 1), (.08, 1)),
                (((.1, .07), (.9, .07)),), aspect=0.45),
        _design("trousers, legs drawn as one line", ((.1, 0), (.9, 0), (.93, 1), (.07, 1)),
                (((.5, .26), (.5, 1)), ((.1, .07), (.9, .07))), aspect=0.45),
        _design("jeans", ((.12, 0), (.88, 0), (.9, 1), (.56, 1), (.5, .3), (.44, 1), (.1, 1)),
                (((.12, .07), (.88, .07)), *_pair((.14, .16), (.3, .07)), ((.5, .07), (.5, .28))), aspect=0.45),
        _design("flared trousers", ((.2, 0), (.8, 0), (.82, .55), (1, 1), (.57, 1), (.5, .3), (.43, 1), (0, 1),
                                    (.18, .55)), aspect=0.5),
        _design("skinny trousers", ((.14, 0), (.86, 0), (.76, 1), (.56, 1), (.5, .28), (.44, 1), (.24, 1)),
                aspect=0.36),
        _design("wide-leg trousers", ((.2, 0), (.8, 0), (1, 1), (.53, 1), (.5, .35), (.47, 1), (0, 1)),
                (((.2, .06), (.8, .06)),), aspect=0.62),
        _design("joggers", ((.1, 0), (.9, 0), (.8, .92), (.78, 1), (.56, 1), (.5, .3), (.44, 1), (.22, 1),
                            (.2, .92)), (*_pair((.21, .92), (.45, .92)), ((.1, .07), (.9, .07))), aspect=0.45),
        _design("cargo trousers", ((.08, 0), (.92, 0), (.94, 1), (.56, 1), (.5, .3), (.44, 1), (.06, 1)),
                _pair((.1, .45), (.3, .45), (.3, .62), (.1, .62), (.1, .45)), aspect=0.5),
        _design("sweatpants, legs as a line", ((.12, 0), (.88, 0), (.9, 1), (.1, 1)), (((.5, .3), (.5, 1)), ((.45, .05), (.43, .18)),
                                                          ((.55, .05), (.57, .18))), aspect=0.42),
    ),
    2: (  # Pullover: long sleeves, round or V neck, ribbed hem and cuffs, hoodies
        _design("crew-neck jumper", _LONG, (((.24, .92), (.76, .92)), *_pair((0, .82), (.14, .86)))),
        _design("v-neck jumper", _sym((.5, .3), (.37, .02), (.17, .07), (0, .88), (.13, .92), (.24, .33),
                                      (.24, 1), (.5, 1)), (((.24, .93), (.76, .93)),)),
        _design("hoodie", _HOOD, (((.4, .22), (.41, .1), (.5, .07), (.59, .1), (.6, .22)),
                                  ((.34, .75), (.4, .62), (.6, .62), (.66, .75), (.34, .75)),
                                  *_pair((.45, .24), (.45, .36))), aspect=0.95),
        _design("sweatshirt, arms out", _sym((.5, .09), (.38, .02), (.17, .07), (0, .72), (.11, .8), (.27, .36),
                                             (.25, 1), (.5, 1)), (((.25, .92), (.75, .92)),), aspect=1.2),
        _design("turtleneck", _sym((.5, 0), (.4, 0), (.4, .08), (.18, .12), (0, .9), (.13, .93), (.24, .38),
                                   (.24, 1), (.5, 1)), (((.4, .08), (.6, .08)),)),
        _design("raglan jumper", _LONG, (*_pair((.38, .03), (.24, .33)), ((.24, .92), (.76, .92)))),
        _design("cable-knit jumper", _LONG, (((.4, .18), (.4, .9)), ((.6, .18), (.6, .9)), ((.5, .15), (.5, .9)))),
        _design("batwing jumper", _sym((.5, .1), (.38, .02), (.16, .1), (0, .8), (.08, .88), (.26, .66),
                                       (.28, 1), (.5, 1)), (((.28, .93), (.72, .93)),), aspect=1.15),
        _design("hoodie with a zipless pocket", _HOOD, (((.42, .2), (.5, .1), (.58, .2)),
                                                        ((.3, .78), (.7, .78)), ((.24, .93), (.76, .93)))),
    ),
    3: (  # Dress
        _design("a-line strap dress", ((.35, 0), (.3, .35), (.05, 1), (.95, 1), (.7, .35), (.65, 0), (.5, .12)),
                aspect=0.55),
        _design("fit-and-flare dress", _sym((.5, .12), (.34, 0), (.26, .06), (.3, .26), (.31, .4), (.06, 1),
                                            (.5, 1)), (((.31, .4), (.69, .4)),), aspect=0.6),
        _design("short-sleeved dress", _sym((.5, .08), (.38, 0), (.2, .04), (.08, .18), (.18, .24), (.28, .17),
                                            (.3, .4), (.14, 1), (.5, 1)), aspect=0.6),
        _design("long gown", _sym((.5, .1), (.38, 0), (.33, .05), (.35, .34), (.31, .55), (.06, 1), (.5, 1)),
                aspect=0.38),
        _design("wrap dress", _sym((.5, .3), (.37, 0), (.2, .04), (.1, .2), (.2, .25), (.29, .18), (.31, .42),
                                   (.12, 1), (.5, 1)), (((.62, .42), (.35, 1)), ((.31, .42), (.69, .42)),
                                                        ((.66, .42), (.72, .6)), ((.66, .42), (.6, .6))), aspect=0.6),
        _design("shirt dress", _sym((.5, .1), (.39, 0), (.2, .05), (.1, .22), (.2, .27), (.27, .2), (.28, .45),
                                    (.2, 1), (.5, 1)),
                (*_pair((.39, 0), (.45, .12), (.5, .1)), ((.5, .1), (.5, .45)), *_dots(.5, .18, .28, .38),
                 ((.28, .45), (.72, .45))), aspect=0.55),
        _design("strapless dress", ((.25, 0), (.75, 0), (.72, .3), (.92, 1), (.08, 1), (.28, .3)),
                (((.28, .3), (.72, .3)),), aspect=0.5),
        _design("sundress", ((.3, .2), (.7, .2), (.66, .4), (.95, 1), (.05, 1), (.34, .4)),
                _pair((.34, .2), (.38, 0)), aspect=0.55),
        _design("mermaid dress", _sym((.5, .1), (.38, 0), (.32, .04), (.34, .3), (.3, .55), (.36, .75), (.1, 1),
                                      (.5, 1)), aspect=0.42),
    ),
    4: (  # Coat: long, long sleeves, lapels, a zip or buttons, belts, hoods
        _design("trench coat", _COAT, (*_pair((.38, 0), (.3, .14), (.42, .2), (.5, .34)), ((.2, .56), (.8, .56)),
                                       ((.5, .34), (.5, 1)), *_dots(.44, .42, .66, .8)), aspect=0.85),
        _design("zip jacket", _sym((.5, .06), (.38, 0), (.15, .06), (0, .9), (.14, .93), (.23, .36), (.23, 1),
                                   (.5, 1)), (((.5, .06), (.5, 1)), *_pair((.3, .62), (.4, .75)),
                                              *_pair((.38, 0), (.38, .08), (.5, .06))), aspect=1.05),
        _design("buttoned coat", _COAT, (((.5, .34), (.5, 1)), *_dots(.45, .45, .6, .75, .9)), aspect=0.8),
        _design("parka", _HOOD, (((.5, .2), (.5, 1)), ((.4, .22), (.41, .1), (.5, .07), (.59, .1), (.6, .22)),
                                 *_pair((.3, .62), (.42, .62), (.42, .76), (.3, .76), (.3, .62))), aspect=0.8),
        _design("puffer jacket", _sym((.5, .06), (.38, 0), (.14, .06), (0, .88), (.14, .91), (.22, .34),
                                      (.21, 1), (.5, 1)),
                (((.5, .06), (.5, 1)), ((.22, .35), (.78, .35)), ((.21, .55), (.79, .55)), ((.21, .76), (.79, .76)),
                 *_pair((.05, .4), (.17, .38)), *_pair((.09, .62), (.2, .6))), aspect=1.0),
        _design("double-breasted coat", _COAT, (*_pair((.38, 0), (.28, .16), (.4, .22), (.5, .34)),
                                                *_dots(.42, .45, .6, .75), *_dots(.58, .45, .6, .75)),
                aspect=0.82),
        _design("blazer", _sym((.5, .42), (.38, 0), (.15, .05), (0, .9), (.14, .93), (.22, .36), (.21, 1),
                               (.5, 1)), (*_pair((.38, 0), (.3, .18), (.42, .24), (.5, .42)), ((.5, .42), (.5, 1)),
                                          *_dots(.46, .62), *_pair((.26, .72), (.38, .72))), aspect=1.0),
        _design("open long coat", _sym((.5, .3), (.4, 0), (.15, .05), (0, .88), (.12, .91), (.2, .33),
                                       (.17, 1), (.5, 1)),
                (((.47, .3), (.44, 1)), ((.53, .3), (.56, 1)), *_pair((.4, 0), (.33, .12), (.47, .3))),
                aspect=0.72),
        _design("duffle coat", _HOOD, (((.5, .2), (.5, 1)), ((.42, .4), (.5, .4)), ((.42, .55), (.5, .55)),
                                       ((.42, .7), (.5, .7)), ((.4, .22), (.41, .1), (.5, .07), (.59, .1), (.6, .22))),
                aspect=0.82),
    ),
    5: (  # Sandal: side view, toe to the left
        _sandal("flat sandal, three straps", _SANDAL_SOLE,
                (((.1, .8), (.28, .36), (.5, .78)), ((.38, .78), (.62, .38), (.84, .78)),
                 ((.74, .78), (.95, .42), (1, .78))), aspect=2.2, view="side"),
        _sandal("flip-flop", ((0, .8), (.1, .74), (1, .72), (1, .92), (.05, .94)),
                (((.25, .77), (.42, .4), (.72, .74)),), aspect=3.0, view="side"),
        _sandal("high-heeled sandal", ((0, .85), (.1, .78), (.45, .72), (.8, .36), (1, .3), (1, .42), (.95, .44),
                                       (.95, 1), (.89, 1), (.87, .5), (.5, .88), (.05, .95)),
                (((.1, .8), (.22, .52), (.38, .74)), ((.82, .36), (.86, .06), (.99, .3))), aspect=1.35, view="side"),
        _sandal("gladiator sandal", ((0, .86), (1, .86), (1, .97), (0, .97)),
                (((.45, .86), (.62, .08), (.95, .08), (.98, .86)), ((.5, .62), (.98, .62)), ((.56, .4), (.97, .4)),
                 ((.6, .22), (.96, .22)), ((.1, .86), (.3, .56), (.5, .62))), aspect=1.6, view="side"),
        _sandal("wedge sandal", ((0, .8), (.35, .78), (1, .52), (1, 1), (.05, 1)),
                (((.1, .79), (.25, .45), (.42, .76)), ((.72, .62), (.8, .2), (.98, .52))), aspect=1.9, view="side"),
        _sandal("slide", ((0, .82), (.08, .76), (1, .74), (1, .93), (.04, .95)),
                (((.14, .78), (.26, .42), (.56, .4), (.64, .75)),), aspect=2.6, view="side"),
        _sandal("sport sandal", ((0, .8), (.1, .7), (1, .7), (1, .95), (.05, .95)),
                (((.1, .72), (.3, .35), (.45, .72)), ((.45, .72), (.62, .3), (.8, .72)), ((.62, .3), (.95, .3),
                                                                                         (.98, .7))),
                aspect=2.0, view="side"),
        _sandal("block-heel sandal", ((0, .8), (.1, .74), (.55, .68), (1, .5), (1, .62), (.92, .64), (.92, 1),
                                      (.74, 1), (.72, .7), (.05, .92)),
                (((.1, .76), (.3, .42), (.48, .7)), ((.8, .52), (.84, .16), (.98, .5))), aspect=1.6, view="side"),
        _sandal("t-bar sandal", _SANDAL_SOLE, (((.15, .78), (.45, .45), (.95, .45), (1, .78)),
                                               ((.45, .45), (.38, .78))), aspect=2.3, view="side"),
    ),
    6: (  # Shirt: collar, placket and buttons; long or short sleeves
        _design("long-sleeved shirt", _LONG, (*_pair((.38, .02), (.44, .16), (.5, .08)), ((.5, .08), (.5, 1)),
                                              *_dots(.54, .28, .46, .64, .82))),
        _design("shirt with a pocket", _LONG, (*_pair((.38, .02), (.44, .16), (.5, .08)), ((.5, .08), (.5, 1)),
                                               ((.3, .3), (.42, .3), (.42, .44), (.3, .44), (.3, .3)))),
        _design("shirt with cuffs", _LONG, (*_pair((.38, .02), (.45, .14), (.5, .08)), ((.5, .14), (.5, 1)),
                                            *_pair((.01, .8), (.14, .83)), *_dots(.5, .35, .55, .75))),
        _design("short-sleeved shirt", _TEE, (*_pair((.37, .02), (.44, .16), (.5, .1)), ((.5, .1), (.5, 1)),
                                              *_dots(.54, .3, .5, .7, .88))),
        _design("short-sleeved shirt with pockets", _TEE, (*_pair((.37, .02), (.44, .16), (.5, .1)),
                                                           ((.5, .1), (.5, 1)),
                                                           *_pair((.28, .32), (.42, .32), (.42, .46), (.28, .46)))),
        _design("flannel shirt", _LONG, (*_pair((.38, .02), (.44, .16), (.5, .08)), ((.5, .08), (.5, 1)),
                                         ((.24, .5), (.76, .5)), ((.24, .75), (.76, .75)), ((.37, .3), (.37, 1)),
                                         ((.63, .3), (.63, 1)))),
        _design("collared blouse", _sym((.5, .1), (.38, .02), (.18, .07), (.02, .85), (.14, .9), (.25, .36),
                                        (.22, .96), (.5, .9)),
                (*_pair((.38, .02), (.42, .2), (.5, .1)), ((.5, .1), (.5, .9)), *_dots(.5, .3, .5, .7)),
                aspect=0.95),
        _design("denim shirt", _LONG, (*_pair((.38, .02), (.44, .16), (.5, .08)), ((.5, .16), (.5, 1)),
                                       *_pair((.28, .28), (.42, .28), (.42, .4), (.35, .44), (.28, .4), (.28, .28)),
                                       *_dots(.5, .5, .7, .9))),
    ),
    7: (  # Sneaker: side view, toe to the left
        _design("low trainer", ((0, .62), (.3, .45), (.5, .25), (.8, .2), (.95, .3), (1, .75), (1, .9), (0, .9)),
                (((0, .78), (1, .78)), ((.45, .35), (.55, .45)), ((.55, .28), (.65, .38))), aspect=2.0,
                view="side"),
        _design("thick-sole trainer", ((.02, .55), (.4, .45), (.6, .3), (.9, .3), (1, .5), (1, .85), (0, .85)),
                (((0, .68), (1, .68)),), aspect=2.4, view="side"),
        _design("running shoe", _SNEAKER, (((.04, .82), (.98, .82)), ((.25, .7), (.6, .55), (.9, .45)),
                                           ((.5, .3), (.58, .38)), ((.6, .25), (.68, .33))), aspect=2.3, view="side"),
        _design("slip-on", ((0, .7), (.2, .48), (.6, .38), (.9, .32), (1, .5), (1, .9), (0, .9)),
                (((0, .78), (1, .78)), ((.55, .4), (.6, .6))), aspect=2.6, view="side"),
        _design("canvas sneaker", ((0, .66), (.12, .5), (.45, .4), (.6, .2), (.85, .16), (.95, .22), (1, .85),
                                   (0, .85)),
                (((0, .72), (1, .72)), ((.18, .5), (.24, .72)), ((.5, .3), (.62, .42)), ((.62, .22), (.7, .34))),
                aspect=2.1, view="side"),
        _design("skate shoe", ((0, .6), (.15, .38), (.5, .3), (.62, .1), (.9, .08), (1, .2), (1, .92), (0, .92)),
                (((0, .74), (1, .74)), ((.52, .28), (.64, .4))), aspect=1.8, view="side"),
        _design("trainer with laces", _SNEAKER, (((.04, .8), (.98, .8)), ((.42, .36), (.5, .48)),
                                                 ((.5, .32), (.42, .44)), ((.52, .24), (.6, .36)),
                                                 ((.6, .22), (.52, .34))), aspect=2.2, view="side"),
        _design("retro trainer with stripes", _SNEAKER, (((.04, .8), (.98, .8)), ((.45, .72), (.62, .3)),
                                                         ((.55, .74), (.72, .26)), ((.65, .74), (.82, .24))),
                aspect=2.2, view="side"),
    ),
    8: (  # Bag: handles and straps are inked in filled drawings too
        _design("tote", ((.05, .38), (.95, .38), (1, 1), (0, 1)), aspect=1.0,
                parts=(((.28, .38), (.32, .1), (.5, .02), (.68, .1), (.72, .38)),)),
        _design("handbag", ((.15, .38), (.85, .38), (1, 1), (0, 1)), aspect=1.1,
                parts=(((.3, .38), (.35, .06), (.65, .06), (.7, .38)),)),
        _design("clutch", ((0, .2), (1, .2), (1, .9), (0, .9)), (((0, .2), (.5, .55), (1, .2)),), aspect=1.6),
        _design("satchel", ((0, .3), (1, .3), (1, 1), (0, 1)),
                (((0, .3), (0, .6), (1, .6), (1, .3)), ((.44, .55), (.56, .55), (.56, .7), (.44, .7), (.44, .55))),
                aspect=1.2, parts=(((.35, .3), (.4, .08), (.6, .08), (.65, .3)),)),
        _design("shoulder bag", ((.15, .55), (.85, .55), (.85, 1), (.15, 1)), (((.15, .7), (.85, .7)),),
                aspect=0.9, parts=(((.18, .55), (.5, 0), (.82, .55)),)),
        _design("bucket bag", ((.2, .32), (.8, .32), (.78, .92), (.65, 1), (.35, 1), (.22, .92)),
                (((.2, .32), (.5, .44), (.8, .32)),), aspect=0.85, parts=(((.24, .34), (.5, 0), (.76, .34)),)),
        _design("backpack", ((.15, .15), (.3, 0), (.7, 0), (.85, .15), (.9, 1), (.1, 1)),
                (((.25, .55), (.75, .55), (.75, .85), (.25, .85), (.25, .55)),), aspect=0.75,
                parts=(((.4, 0), (.45, -.08), (.55, -.08), (.6, 0)),)),
        _design("shopping bag", ((.1, .3), (.9, .3), (.95, 1), (.05, 1)), aspect=0.95,
                parts=(((.25, .3), (.25, .05), (.4, .05), (.4, .3)), ((.6, .3), (.6, .05), (.75, .05), (.75, .3)))),
        _design("crossbody bag with a chain", ((.05, .5), (.95, .5), (.95, 1), (.05, 1)),
                (((.05, .5), (.5, .78), (.95, .5)),), aspect=1.2,
                parts=tuple(((.1 + .08 * i, .5 - .5 * (1 - abs(2 * (.1 + .08 * i) - 1))),) for i in range(11))),
    ),
    9: (  # Ankle boot: side view, toe to the left, the shaft upright
        _design("ankle boot", ((.45, 0), (.95, 0), (1, .95), (0, .95), (0, .75), (.1, .62), (.42, .55)),
                (((.6, .95), (.7, .85)),), aspect=1.1, view="side"),
        _design("chelsea boot", _BOOT, (((.55, .05), (.62, .45), (.7, .05)), ((0, .9), (1, .9)), ((.93, 0),
                                                                                               (.98, -.08))),
                aspect=1.05, view="side"),
        _design("lace-up boot", _BOOT, (((.0, .9), (1, .9)), ((.45, .1), (.52, .18)), ((.45, .22), (.52, .3)),
                                        ((.45, .34), (.52, .42)), ((.42, .46), (.5, .52))), aspect=1.05, view="side"),
        _design("heeled bootie", ((.5, 0), (.92, 0), (.93, .7), (.96, 1), (.8, 1), (.78, .82), (.3, .9),
                                  (.08, 1), (0, .95), (.05, .82), (.46, .56)), aspect=1.0, view="side"),
        _design("work boot", ((.42, 0), (.94, 0), (.97, .7), (1, .76), (1, 1), (0, 1), (0, .76), (.1, .6),
                              (.4, .5)), (((0, .84), (1, .84)), ((.0, .76), (.18, .6)), ((.5, .08), (.5, .5))),
                aspect=1.1, view="side"),
        _design("wedge ankle boot", ((.45, 0), (.92, 0), (.95, .68), (1, 1), (.1, .98), (0, .9), (.08, .78),
                                     (.42, .56)), (((.4, .8), (1, .7)),), aspect=1.0, view="side"),
        _design("desert boot", ((.45, .1), (.92, .1), (.95, .9), (1, .9), (1, 1), (0, 1), (0, .84), (.1, .7),
                                (.45, .6)), (((.5, .35), (.56, .35)), ((.5, .48), (.56, .48)), ((0, .92), (1, .92))),
                aspect=1.15, view="side"),
        _design("zip ankle boot", _BOOT, (((.8, .06), (.82, .7)), ((0, .9), (1, .9))), aspect=1.0, view="side"),
    ),
}

# Tilt people give a drawing, in degrees either way: shoes drawn from the side lean up to 25 degrees; boots stand
# upright, and everything else is drawn nearly straight.
MAX_TILT = {5: 25.0, 7: 25.0}
SMALL_TILT = 5.0
THIN_PENS, THICK_PENS = (3, 6), (10, 18)  # canvas pixels, inclusive ranges: a fine pen and a marker
BRUSHES = (8, 24)  # canvas pixels, inclusive: what people pick to colour a drawing in


@dataclass(frozen=True)
class Pose:
    """Where and how a design is drawn on the canvas."""

    mirrored: bool  # drawn facing the other way (a shoe's toe to the right)
    tilt: float  # degrees, counter-clockwise on screen
    size: float  # the drawing's longest side over the canvas side
    x: float  # 0..1: where the drawing sits in the room left to its left and right
    y: float  # 0..1: the same, top to bottom
    stretch: float  # multiplies the design's aspect (people's proportions vary)


def sample_pose(label: int, rng: np.random.Generator) -> Pose:
    """A random pose for a drawing of class `label`: facing either way, tilted as MAX_TILT allows, 25-90 % of the
    canvas, anywhere on it."""
    tilt = MAX_TILT.get(label, SMALL_TILT)
    return Pose(bool(rng.integers(2)), float(rng.uniform(-tilt, tilt)), float(rng.uniform(0.25, 0.9)),
                float(rng.uniform()), float(rng.uniform()), float(rng.uniform(0.85, 1.15)))


def hand_drawn_outline(outline: tuple[Point, ...], rng: np.random.Generator) -> np.ndarray:
    """A closed outline as a hand draws it: started at a random corner, simplified to at most 20 vertices (a few
    straight strokes), long edges bent by a wobbling midpoint, each vertex off by about 1.5 % -> (M, 2) vertices
    in the unit box, the first not repeated at the end."""
    points = np.asarray(outline, dtype=np.float64)
    points = np.roll(points, -int(rng.integers(len(points))), axis=0)
    ring = np.concatenate([points, points[:1]])
    tolerance = rng.uniform(0.0, 0.04)
    kept = simplify(ring, tolerance)[:-1]
    while len(kept) > 20:
        tolerance += 0.01
        kept = simplify(ring, tolerance)[:-1]
    for _ in range(int(rng.integers(0, min(6, 20 - len(kept)) + 1))):  # wobble: bend one of the longest edges
        edges = np.linalg.norm(np.roll(kept, -1, axis=0) - kept, axis=1)
        i = int(rng.choice(np.argsort(edges)[-3:]))
        middle = (kept[i] + kept[(i + 1) % len(kept)]) / 2 + rng.normal(0, 0.015, 2)
        kept = np.insert(kept, i + 1, middle, axis=0)
    return kept + rng.normal(0, 0.015, kept.shape)


def draw_design(design: Design, kind: str, rng: np.random.Generator, pose: Pose | None = None,
                label: int = 0) -> tuple[np.ndarray, int]:
    """One of DESIGNS -> (RGBA canvas, stroke width; 0 when filled) drawn like a sketchpad drawing: a wobbly
    outline of 3-20 vertices, not always closed, with a thin (3-6 px) or thick (10-18 px) pen; "filled" paints
    the outline's inside and then leaves the details off or rubs them out as background lines; COLOURED colours the
    inside in rows of brush strokes (`colour_rows`) with the outline drawn around them three times in five, details
    as for "filled" (its stroke: the brush's width); PRINTED draws it as an outline or solid (one time in two) with a
    print inside (`draw_print`; its stroke: the pen's width). pose: where it goes (sample_pose(label, rng) when None)."""
    if kind not in KINDS + (COLOURED, PRINTED):
        raise ValueError(f"kind must be one of {KINDS + (COLOURED, PRINTED)}, not {kind!r}")
    printed = kind == PRINTED
    if printed:
        kind = KINDS[int(rng.integers(2))]
    pose = pose or sample_pose(label, rng)
    pen = int(rng.integers(*THIN_PENS, endpoint=True) if rng.integers(2) else
              rng.integers(*THICK_PENS, endpoint=True))
    shape = hand_drawn_outline(design.outline, rng)
    if kind == "outline" and rng.uniform() < 0.35:  # the pen stops short of, or runs past, where it started
        end = shape[0] + (shape[-1] - shape[0]) * rng.uniform(-0.25, 0.25)
        strokes = [np.concatenate([shape, end[None]])]
    else:
        strokes = [np.concatenate([shape, shape[:1]])]
    details = [np.asarray(d, dtype=np.float64) + rng.normal(0, 0.01, (len(d), 2)) for d in design.details]
    parts = [np.asarray(d, dtype=np.float64) + rng.normal(0, 0.01, (len(d), 2)) for d in design.parts]

    # unit box -> canvas: aspect, mirror, tilt about the centre, then scaled and placed by the whole drawing's box
    aspect = design.aspect * pose.stretch
    scale = np.array([aspect, 1.0]) / max(aspect, 1.0)
    angle = np.radians(pose.tilt)
    rotation = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])  # y down: CCW on screen

    def to_plane(p: np.ndarray) -> np.ndarray:
        q = (p - 0.5) * scale
        if pose.mirrored:
            q = q * [-1, 1]
        return q @ rotation.T

    plane = [to_plane(s) for s in strokes], [to_plane(d) for d in details], [to_plane(d) for d in parts]
    # the box of what is inked: a filled drawing's details fall inside it or are left off
    every = np.concatenate(plane[0] + plane[2] + (plane[1] if kind == "outline" else []))
    low, high = every.min(0), every.max(0)
    factor = pose.size * CANVAS / max(high - low)
    margin = pen / 2 + 1
    room = np.maximum(CANVAS - 2 * margin - (high - low) * factor, 0)
    origin = margin + room * [pose.x, pose.y] - low * factor

    def to_canvas(q: np.ndarray) -> list[Point]:
        return [tuple(v) for v in q * factor + origin]

    alpha = Image.new("L", (CANVAS, CANVAS), 0)
    ink = ImageDraw.Draw(alpha)
    if kind == "filled":
        ink.polygon(to_canvas(plane[0][0]), fill=255)
        detail_ink = 0 if rng.uniform() < 0.5 else None  # rubbed out as background lines, or left off
    elif kind == COLOURED:
        brush = int(rng.integers(*BRUSHES, endpoint=True))
        colour_rows(ink, to_canvas(plane[0][0]), brush, rng)
        if rng.uniform() < 0.6:
            ink.line(to_canvas(plane[0][0]), fill=255, width=pen, joint="curve")
        detail_ink = 0 if rng.uniform() < 0.5 else None
    else:
        ink.line(to_canvas(plane[0][0]), fill=255, width=pen, joint="curve")
        detail_ink = 255
    if printed:  # in the garment's own frame, so the stripes lie along it however it is tilted
        alpha = draw_print(alpha, to_canvas(plane[0][0]), lambda p: to_canvas(to_plane(np.asarray(p, np.float64))),
                           pen, 255 if kind == "outline" else 0, rng)
        ink = ImageDraw.Draw(alpha)
    for lines, value in ((plane[1], detail_ink), (plane[2], 255)):
        for line in map(to_canvas, lines if value is not None else ()):
            if len(line) == 1:  # a button or a chain's link: a dot the size of the pen
                (cx, cy), r = line[0], max(pen * 0.6, 2.5)
                ink.ellipse((cx - r, cy - r, cx + r, cy + r), fill=value)
            else:
                ink.line(line, fill=value, width=pen, joint="curve")
    canvas = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    canvas[..., 3] = np.asarray(alpha)
    return canvas, pen if kind == "outline" or printed else brush if kind == COLOURED else 0


def draw_print(alpha: Image.Image, outline: list[Point], place, pen: int, value: int,
               rng: np.random.Generator) -> Image.Image:
    """A drawing's ink `alpha` with a print drawn inside its closed `outline` (canvas points) in `value` (255: ink on
    an outline; 0: rubbed out of a solid garment): horizontal stripes (Breton), vertical or diagonal stripes, checks,
    polka dots, or a logo on the chest (a ring, a triangle, a lightning bolt, a word as a wavy line), laid out in the
    design's unit box and `place`d on the canvas with it, with the pen or a finer one."""
    layer = Image.new("L", alpha.size, 0)
    ink = ImageDraw.Draw(layer)
    fine = max(2, int(pen * rng.uniform(0.5, 1.0)))
    style = ("breton", "breton", "vertical", "diagonal", "checks", "dots", "logo")[int(rng.integers(7))]
    if style in ("breton", "vertical", "checks", "diagonal"):
        gap = rng.uniform(0.08, 0.16)
        (ax, ay), (bx, by) = place([(0.0, 0.0), (gap, gap)])
        # stripes no wider than the paper between them (checks: half as wide), so a print never covers the garment
        fine = min(fine, max(2, int(min(abs(bx - ax), abs(by - ay)) / (3 if style == "checks" else 2))))
        for at in np.arange(rng.uniform(0.3, 0.7) * gap, 1.0, gap):
            if style in ("breton", "checks"):
                ink.line(place([(-0.1, at), (1.1, at)]), fill=255, width=fine)
            if style in ("vertical", "checks"):
                ink.line(place([(at, -0.1), (at, 1.1)]), fill=255, width=fine)
            if style == "diagonal":
                ink.line(place([(2 * at - 1.1, -0.1), (2 * at + 0.1, 1.1)]), fill=255, width=fine)
    elif style == "dots":
        for x, y in rng.uniform(0.05, 0.95, (int(rng.integers(8, 20)), 2)):
            (cx, cy), = place([(x, y)])
            r = max(fine * 0.8, 3.0)
            ink.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    else:
        cx, cy, r = rng.uniform(0.42, 0.58), rng.uniform(0.28, 0.42), rng.uniform(0.07, 0.12)
        logo = int(rng.integers(4))
        if logo == 0:
            t = np.linspace(0, 2 * np.pi, 17)
            points = list(zip(cx + r * np.cos(t), cy + r * np.sin(t)))
        elif logo == 1:
            points = [(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8), (cx, cy - r)]
        elif logo == 2:
            points = [(cx + r * 0.3, cy - r), (cx - r * 0.4, cy + r * 0.1), (cx + r * 0.4, cy - r * 0.1),
                      (cx - r * 0.3, cy + r)]
        else:
            t = np.linspace(-1.5 * r, 1.5 * r, 20)
            points = list(zip(cx + t, cy + 0.3 * r * np.sin(t / r * 7)))
        ink.line(place(points), fill=255, width=fine, joint="curve")
    inside = Image.new("L", alpha.size, 0)
    ImageDraw.Draw(inside).polygon(outline, fill=255)
    out = np.asarray(alpha).copy()
    out[(np.asarray(layer) > 0) & (np.asarray(inside) > 0)] = value
    return Image.fromarray(out, "L")


def colour_rows(ink: ImageDraw.ImageDraw, outline: list[Point], brush: int, rng: np.random.Generator) -> None:
    """Colour a closed outline's inside on `ink` as a hand does with a brush `brush` pixels wide: rows across it at
    one of four directions (across, down, slanted either way, give or take 12 degrees), 1-2 brushes apart, one stroke
    for each stretch of a row that lies inside (a row across trouser legs is two strokes), each ending up to 0.4 brush
    short of the edge or 0.3 past it."""
    inside = Image.new("1", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(inside).polygon(outline, fill=1)
    mask = np.asarray(inside, dtype=bool)
    theta = np.radians(rng.choice([0.0, 90.0, 45.0, -45.0]) + rng.uniform(-12, 12))
    along, across = np.array([np.cos(theta), np.sin(theta)]), np.array([-np.sin(theta), np.cos(theta)])
    centre, reach = np.array([CANVAS / 2, CANVAS / 2]), CANVAS * 0.75
    gap = brush * rng.uniform(1.0, 2.0)
    steps = np.arange(-reach, reach, 2.0)
    for offset in np.arange(-reach + rng.uniform(0, gap), reach, gap):
        points = centre + offset * across + steps[:, None] * along
        col, row = points[:, 0].round().astype(int), points[:, 1].round().astype(int)
        on = (col >= 0) & (col < CANVAS) & (row >= 0) & (row < CANVAS)
        hit = np.zeros(len(steps), bool)
        hit[on] = mask[row[on], col[on]]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], hit.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2] - 1):
            if stop - start < 2:
                continue
            ends = steps[[start, stop]] + np.array([-1, 1]) * rng.uniform(-0.4, 0.3, 2) * brush
            a, b = (centre + offset * across + t * along for t in ends)
            ink.line([tuple(a), tuple(b)], fill=255, width=brush)


def iter_designs(seed: int = 0, per_design: int = 6) -> Iterator[Sketch]:
    """per_design drawings of each of DESIGNS in each kind (outline and filled), one at a time, from their own
    random stream (independent of the data and of the other drawings)."""
    rng = np.random.default_rng([seed, 2])
    for label, designs in DESIGNS.items():
        for design in designs:
            for _ in range(per_design):
                for kind in KINDS:
                    pose = sample_pose(label, rng)
                    canvas, stroke = draw_design(design, kind, rng, pose)
                    yield Sketch(canvas, label, kind, stroke, "design", design.name, pose)


def iter_coloured(seed: int = 0, per_design: int = 6) -> Iterator[Sketch]:
    """per_design drawings of each of DESIGNS coloured in by hand (COLOURED), one at a time, from a random stream of
    their own (so the "designs" column's drawings stay what they were)."""
    rng = np.random.default_rng([seed, 3])
    for label, designs in DESIGNS.items():
        for design in designs:
            for _ in range(per_design):
                pose = sample_pose(label, rng)
                canvas, brush = draw_design(design, COLOURED, rng, pose)
                yield Sketch(canvas, label, COLOURED, brush, "design", design.name, pose)


def draw_sketch(image: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A 28x28 uint8 test image -> (RGBA canvas, stroke width): its silhouette drawn at a random size,
    aspect and position, filled or as an outline."""
    # holes filled: a drawer draws the outer contour, not the gaps inside a garment
    mask = Image.fromarray(fill_enclosed(((image > 25) * 255).astype(np.uint8)), "L")
    side = rng.uniform(0.35, 0.9) * CANVAS
    aspect = rng.uniform(0.8, 1.25)
    w, h = max(8, int(side * min(1.0, aspect))), max(8, int(side * min(1.0, 1 / aspect)))
    big = np.asarray(mask.resize((w, h), Image.Resampling.BILINEAR)) > 127
    stroke = 0
    if kind == "outline":
        stroke = int(rng.choice(STROKES))
        big = big & ~erode(big, 2 * max(1, stroke // 2) + 1)
    canvas = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    y, x = int(rng.integers(0, CANVAS - h + 1)), int(rng.integers(0, CANVAS - w + 1))
    canvas[y:y + h, x:x + w, 3] = big * 255
    return canvas, stroke


def draw_template(template: tuple[list[Point], list[list[Point]], float], kind: str,
                  rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One of DRAWINGS -> (RGBA canvas, stroke width): drawn at a random size, aspect and position, its
    corners jittered by up to 3 % as a hand would, half of them mirrored (students draw shoes facing
    either way), filled or as an outline."""
    outline, strokes, aspect = template
    mirror = bool(rng.integers(2))
    aspect *= rng.uniform(0.85, 1.15)
    side = rng.uniform(0.35, 0.9) * CANVAS
    w, h = side * min(1.0, aspect), side * min(1.0, 1 / aspect)
    x0, y0 = rng.uniform(0, CANVAS - w), rng.uniform(0, CANVAS - h)

    def place(points: list[Point]) -> list[Point]:
        jitter = rng.uniform(-0.03, 0.03, (len(points), 2))
        return [(x0 + ((1 - px if mirror else px) + jx) * w, y0 + (py + jy) * h)
                for (px, py), (jx, jy) in zip(points, jitter)]

    stroke = int(rng.choice(STROKES))
    alpha = Image.new("L", (CANVAS, CANVAS), 0)
    pen = ImageDraw.Draw(alpha)
    shape = place(outline)
    if kind == "filled":
        pen.polygon(shape, fill=255)
    else:
        pen.line(shape + shape[:1], fill=255, width=stroke, joint="curve")
    for line in strokes:
        pen.line(place(line), fill=255, width=stroke, joint="curve")
    canvas = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    canvas[..., 3] = np.asarray(alpha)
    return canvas, stroke if kind == "outline" else 0


def sample_drawing(size: int = 800) -> np.ndarray:
    """One sketchpad-sized RGBA drawing (size, size, 4) uint8: a trouser outline in strokes 1/56 of the
    canvas wide (14 pixels at 800) on a transparent layer; what the benchmark and the load test send."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    s = size / 280
    pts = [(90, 30), (190, 30), (205, 250), (160, 250), (140, 90), (120, 250), (75, 250), (90, 30)]
    ImageDraw.Draw(img).line([(x * s, y * s) for x, y in pts], fill=(0, 0, 0, 255), width=int(5 * s))
    return np.asarray(img).copy()


def iter_sketches(data: FashionMNIST, per_class: int = 50, seed: int = 0, per_template: int = 3) -> Iterator[Sketch]:
    """per_class test images of each class, and per_template renderings of each of DRAWINGS, each drawn
    both as an outline and filled, one at a time (each canvas is 0.8 MB). The drawings have their own
    random stream, so they do not depend on per_class or the data."""
    rng, hand = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    labels = data.test_labels.numpy()
    for c in range(10):
        members = np.nonzero(labels == c)[0]
        for i in rng.choice(members, min(per_class, len(members)), replace=False):
            for kind in KINDS:
                canvas, stroke = draw_sketch(data.test_images[i].numpy(), kind, rng)
                yield Sketch(canvas, c, kind, stroke)
        for template in DRAWINGS[c]:
            for _ in range(per_template):
                for kind in KINDS:
                    canvas, stroke = draw_template(template, kind, hand)
                    yield Sketch(canvas, c, kind, stroke, "drawn")


def make_sketches(data: FashionMNIST, per_class: int = 50, seed: int = 0, per_template: int = 3) -> list[Sketch]:
    """All of iter_sketches as a list (to look at the canvases themselves)."""
    return list(iter_sketches(data, per_class, seed, per_template))


def iter_printed(seed: int = 0, per_design: int = 6) -> Iterator[Sketch]:
    """per_design drawings of each design of PRINTED_CLASSES with a print on it (PRINTED), one at a time, from a
    random stream of their own."""
    rng = np.random.default_rng([seed, 4])
    for label in PRINTED_CLASSES:
        for design in DESIGNS[label]:
            for _ in range(per_design):
                pose = sample_pose(label, rng)
                canvas, pen = draw_design(design, PRINTED, rng, pose)
                yield Sketch(canvas, label, PRINTED, pen, "design", design.name, pose)


@dataclass(frozen=True)
class Condition:
    """One column of the sketch figures: which drawings it scores and how they are preprocessed."""

    name: str
    kinds: tuple[str, ...]  # the drawings' kinds it takes ("outline", "filled")
    sources: tuple[str, ...]  # the drawings' sources it takes ("test", "drawn", "design")
    fill: bool  # the app's "Fill closed outlines" option


# "outline+fill" is the app's "Fill closed outlines" option; "designs" scores DESIGNS, both kinds, as the Predict
# tab's default (no filling) sees them; "coloured" the same designs coloured in by hand (iter_coloured); "printed"
# the tops and dresses with a print on them (iter_printed).
CONDITIONS = (Condition("outline", ("outline",), ("test", "drawn"), False),
              Condition("outline+fill", ("outline",), ("test", "drawn"), True),
              Condition("filled", ("filled",), ("test", "drawn"), False),
              Condition("designs", KINDS, ("design",), False),
              Condition(COLOURED, (COLOURED,), ("design",), False),
              Condition(PRINTED, (PRINTED,), ("design",), False))
BALANCED = ("designs", COLOURED, PRINTED)  # the columns whose headline is the mean over their classes (their classes
# differ in size; "printed" has five)


@dataclass(frozen=True)
class Prepared:
    """One condition's drawings after the app's preprocessing: what sketch_accuracy scores."""

    images: np.ndarray  # (N, 28, 28) uint8, light on black; zeros where a drawing came out blank
    labels: np.ndarray  # (N,) int
    drawn: np.ndarray  # (N,) bool: a hand-constructed drawing
    blank: np.ndarray  # (N,) bool: preprocessing found nothing to classify (scored as wrong)


def prepare_sketches(sketches: Iterable[Sketch]) -> dict[str, Prepared]:
    """Every drawing through the app's preprocessing (`preprocess_drawing`), once per CONDITION; reads
    the drawings one at a time, so iter_sketches never holds more than one canvas."""
    rows: dict[str, list] = {c.name: [] for c in CONDITIONS}
    for s in sketches:
        for c in CONDITIONS:
            if s.kind not in c.kinds or s.source not in c.sources:
                continue
            try:
                image, blank = preprocess_drawing(s.canvas, fill=c.fill), False
            except BlankImageError:
                image, blank = np.zeros((28, 28), np.uint8), True
            rows[c.name].append((image, s.label, s.source == "drawn", blank))
    return {name: Prepared(np.stack([r[0] for r in got]) if got else np.zeros((0, 28, 28), np.uint8),
                           np.array([r[1] for r in got], dtype=np.int64), np.array([r[2] for r in got], dtype=bool),
                           np.array([r[3] for r in got], dtype=bool))
            for name, got in rows.items()}


def draw_set(data: FashionMNIST, seed: int = 0) -> dict[str, Prepared]:
    """One draw of the evaluation set, preprocessed: iter_sketches, iter_designs, iter_coloured and iter_printed from
    seed's random streams (other test images, other wobbles, pens and poses of the same designs). Seed 0 is sketch_set."""
    return prepare_sketches(chain(iter_sketches(data, seed=seed), iter_designs(seed), iter_coloured(seed),
                                  iter_printed(seed)))


@remember_last
def sketch_set(data: FashionMNIST) -> dict[str, Prepared]:
    """The evaluation set every figure in this project is measured on, preprocessed (seconds of CPU, 2.6 MB), kept
    for the last dataset: a sweep's runs and the app's runs measure on it without preparing it again."""
    return draw_set(data, 0)


def drawing_probabilities(model: nn.Module, normalization: dict, images: np.ndarray) -> np.ndarray:
    """Preprocessed drawings uint8 (N, 28, 28) -> the model's probabilities (N, 10), 256 at a time."""
    x = to_float(torch.from_numpy(images), normalization["mean"], normalization["std"])
    return np.concatenate([predict_proba(model, b) for b in x.split(256)]) if len(x) else np.zeros((0, 10))


@torch.inference_mode()
def sketch_accuracy(model: nn.Module, normalization: dict, prepared: dict[str, Prepared]) -> dict:
    """Accuracy through the app's own preprocessing: {condition: {"accuracy", "balanced_accuracy",
    "per_class_accuracy", "n", "drawn_accuracy", "drawn_n"}}; balanced_accuracy is the mean of the per-class
    accuracies over the classes present (the headline for "designs", whose classes differ in size); the drawn_
    figures count the hand-constructed DRAWINGS alone."""
    return {name: condition_figures(drawing_probabilities(model, normalization, p.images).argmax(1), p)
            for name, p in prepared.items()}


def condition_figures(preds: np.ndarray, p: Prepared) -> dict:
    """One condition's figures (sketch_accuracy's entries) from its predicted classes (N,); per_class_accuracy has the
    classes the condition has drawings of (all ten but for "printed")."""
    right = (preds == p.labels) & ~p.blank
    total = np.bincount(p.labels, minlength=10)
    correct = np.bincount(p.labels, weights=right, minlength=10)
    present = total > 0
    return {
        "accuracy": round(float(correct.sum() / max(total.sum(), 1)), 4),
        "balanced_accuracy": round(float((correct[present] / total[present]).mean()), 4) if present.any() else 0.0,
        "per_class_accuracy": {n: round(float(a / t), 4) for n, a, t in zip(CLASS_NAMES, correct, total) if t},
        "n": int(total.sum()),
        "drawn_accuracy": round(float(right[p.drawn].sum()) / max(int(p.drawn.sum()), 1), 4),
        "drawn_n": int(p.drawn.sum()),
    }


MAX_DRAWS = 20


def check_draws(draws: object) -> int:
    """sketch_draws' number of draws, checked -> the same number; a ValueError says what is wrong."""
    if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= MAX_DRAWS:
        raise ValueError(f"draws must be a whole number from 1 to {MAX_DRAWS}, got {draws!r}")
    return draws


@torch.inference_mode()
def sketch_draws(model: nn.Module, normalization: dict, data: FashionMNIST, draws: int) -> dict:
    """How precise the sketch figures are: the model scored on `draws` draws of the set (draw_set, seeds 0 to
    draws - 1; seed 0 is sketch_set) -> {"draws", "pooled": sketch_accuracy's figures over all the draws' drawings
    together, "per_draw": {condition: {"accuracy": [one per draw], "per_class_accuracy": {class: [one per draw]}}}}.
    One draw's per-class figure rests on 50-110 drawings, a standard error of about 3.5 points near 85 %; pooled
    over six draws, about 1.5."""
    check_draws(draws)
    preds: dict[str, list[np.ndarray]] = {}
    parts: dict[str, list[Prepared]] = {}
    for seed in range(draws):
        for name, p in (sketch_set(data) if seed == 0 else draw_set(data, seed)).items():
            preds.setdefault(name, []).append(drawing_probabilities(model, normalization, p.images).argmax(1))
            parts.setdefault(name, []).append(p)
    per_draw = {}
    for name in parts:
        each = [condition_figures(got, p) for got, p in zip(preds[name], parts[name])]
        per_draw[name] = {"accuracy": [f["accuracy"] for f in each],
                          "per_class_accuracy": {c: [f["per_class_accuracy"][c] for f in each]
                                                 for c in each[0]["per_class_accuracy"]}}
    pooled = {name: condition_figures(np.concatenate(preds[name]), _joined(parts[name])) for name in parts}
    return {"draws": draws, "pooled": pooled, "per_draw": per_draw}


def _joined(parts: list[Prepared]) -> Prepared:
    """Several draws' drawings of one condition as one Prepared, in order."""
    return Prepared(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Prepared)))


def iter_scribbles(n: int = 150, seed: int = 0) -> Iterator[np.ndarray]:
    """n RGBA canvases of no garment at all: 1-3 strokes of 3-8 random points each across 30-90 % of the pad, a
    thin or thick pen. What "does not recognise a garment" is for; from their own random stream."""
    rng = np.random.default_rng([seed, 3])
    for _ in range(n):
        side = rng.uniform(0.3, 0.9) * CANVAS
        x0, y0 = rng.uniform(0, CANVAS - side, 2)
        pen = int(rng.integers(*THIN_PENS, endpoint=True) if rng.integers(2) else
                  rng.integers(*THICK_PENS, endpoint=True))
        alpha = Image.new("L", (CANVAS, CANVAS), 0)
        ink = ImageDraw.Draw(alpha)
        for _ in range(int(rng.integers(1, 4))):
            points = rng.uniform(0, side, (int(rng.integers(3, 9)), 2)) + (x0, y0)
            ink.line([tuple(p) for p in points], fill=255, width=pen, joint="curve")
        canvas = np.zeros((CANVAS, CANVAS, 4), np.uint8)
        canvas[..., 3] = np.asarray(alpha)
        yield canvas


@torch.inference_mode()
def verdict_figures(model: nn.Module, normalization: dict, prepared: dict[str, Prepared], scribbles: int = 150) -> dict:
    """How the Predict tab's verdicts (`fmnist.predict.judge`, bare tops judged as `bare_shape` finds them) split the
    drawings it sees by default (the outline, filled and designs conditions together) and `iter_scribbles`:
    {"drawings": {verdict: {"share", "accuracy"}}, "scribbles": {verdict: share}, "drawings_n", "scribbles_n"}. What
    the thresholds are measured by."""
    kept = [prepared[c] for c in ("outline", "filled", "designs") if c in prepared]
    images = np.concatenate([p.images[~p.blank] for p in kept])
    labels = np.concatenate([p.labels[~p.blank] for p in kept])
    doodles = []
    for canvas in iter_scribbles(scribbles):
        try:
            doodles.append(preprocess_drawing(canvas))
        except BlankImageError:  # too small to be a garment: refused in words before any verdict
            continue

    def verdicts(ims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        probs = drawing_probabilities(model, normalization, ims)
        return np.array([judge(p, bare_shape(im)).kind for p, im in zip(probs, ims)]), probs.argmax(1)

    kinds, preds = verdicts(images)
    doodle_kinds, _ = verdicts(np.stack(doodles)) if doodles else (np.array([]), None)
    result = {"drawings": {}, "scribbles": {}, "drawings_n": len(labels), "scribbles_n": len(doodles)}
    for kind in ("sure", "unsure", "unlike"):
        mine = kinds == kind
        result["drawings"][kind] = {"share": round(float(mine.mean()), 4),
                                    "accuracy": round(float((preds[mine] == labels[mine]).mean()), 4) if mine.any()
                                    else None}
        result["scribbles"][kind] = round(float((doodle_kinds == kind).mean()), 4) if len(doodles) else None
    return result
