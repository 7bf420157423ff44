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
