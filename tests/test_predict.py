"""The model's side of prediction: feature maps and the occlusion map of where the evidence lies."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from torch import nn

from fmnist.models import build_model
from fmnist.predict import feature_maps, occlusion, to_input

PLAIN = {"mean": 0.0, "std": 1.0}


class Window(nn.Module):
    """Class 3's logit is the ink inside one window of the picture; the other logits are 0."""

    def __init__(self, rows: slice, cols: slice) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(28, 28))
        with torch.no_grad():
            self.weight[rows, cols] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(len(x), 10)
        logits[:, 3] = (x[:, 0] * self.weight).sum(dim=(1, 2))
        return logits


def test_occlusion_finds_the_window_the_model_reads():
    image = np.full((28, 28), 255, np.uint8)
    heat = occlusion(Window(slice(10, 14), slice(20, 24)), image, PLAIN, target=3)
    assert heat.shape == (28, 28) and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    inside = np.zeros((28, 28), bool)
    inside[10:14, 20:24] = True
    assert heat[inside].min() > 0.3 and heat[inside].mean() > 5 * heat[~inside].mean()
    assert heat[:3, :10].max() == 0 and heat[-3:, :10].max() == 0  # squares there never touch the window
    row, col = np.unravel_index(heat.argmax(), heat.shape)
    assert 8 <= row <= 15 and 18 <= col <= 25


def test_occlusion_is_zero_when_nothing_lowers_the_class():
    heat = occlusion(Window(slice(10, 14), slice(20, 24)), np.full((28, 28), 255, np.uint8), PLAIN, target=5)
    assert heat.shape == (28, 28) and not heat.any() and np.isfinite(heat).all()


@pytest.mark.parametrize("name, shapes", [("lenet", [(6, 28, 28), (16, 10, 10)]),
                                          ("cnn", [(24, 28, 28), (24, 28, 28)])])
def test_feature_maps_are_the_first_relu_outputs(name, shapes):
    maps = feature_maps(build_model(name, seed=0), torch.randn(1, 1, 28, 28))
    assert [m.shape for m in maps] == shapes and all(m.min() >= 0 for m in maps)


def test_feature_maps_of_concurrent_requests_stay_apart():
    model = build_model("lenet", seed=0)
    images = [to_input(np.random.default_rng(i).integers(0, 256, (28, 28), dtype=np.uint8), PLAIN)
              for i in range(16)]
    serial = [feature_maps(model, x)[0] for x in images]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda x: feature_maps(model, x)[0], images * 4))
    assert all(np.array_equal(a, serial[i % 16]) for i, a in enumerate(together))


def probs_with(top: int, p1: float, second: int, p2: float) -> np.ndarray:
    probs = np.full(10, (1 - p1 - p2) / 8)
    probs[top], probs[second] = p1, p2
    return probs


@pytest.mark.parametrize("top,p1,second,p2,bare,kind,shape_only", [
    (6, 0.6, 2, 0.2, False, "sure", False),  # a shirt with something drawn in it: the usual thresholds
    (6, 0.6, 2, 0.2, True, "unsure", True),  # a bare long-sleeved shape: a shirt, a pullover or a coat
    (0, 0.8, 6, 0.1, True, "sure", True),  # sure from BARE_TOP_SURE up, still told what tells tops apart
    (1, 0.6, 3, 0.2, True, "sure", False),  # a bare trouser shape is a trouser: only tops look alike
    (2, 0.45, 4, 0.4, True, "unsure", True),
    (4, 0.3, 2, 0.25, True, "unlike", True),  # like no garment stays so
])
def test_a_top_drawn_as_a_bare_shape_is_not_sure_below_its_own_threshold(top, p1, second, p2, bare, kind, shape_only):
    from fmnist.predict import BARE_TOP_SURE, UNSURE_TOP, judge

    assert UNSURE_TOP < BARE_TOP_SURE <= 0.9
    verdict = judge(probs_with(top, p1, second, p2), bare)
    assert (verdict.kind, verdict.shape_only) == (kind, shape_only)
    assert verdict.top[0] == (top, pytest.approx(p1))
