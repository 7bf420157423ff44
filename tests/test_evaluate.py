"""fmnist.evaluate.confident_mistakes against a model whose confidence is known."""

import torch
from torch import nn

from fmnist.evaluate import confident_mistakes, predict_labels


class FirstPixel(nn.Module):
    """Logits (4 * first pixel, 0, ..., 0): says class 0 for a bright first pixel, the brighter the surer."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(4.0))

    def forward(self, x):
        logits = torch.zeros(len(x), 10)
        logits[:, 0] = self.scale * x[:, 0, 0, 0]
        return logits


def test_the_surest_mistakes_come_first_and_right_answers_never():
    brightness = torch.tensor([3.0, 1.0, 2.0, 5.0, 4.0, 0.5])
    x = torch.zeros(6, 1, 28, 28)
    x[:, 0, 0, 0] = brightness
    labels = torch.tensor([0, 3, 7, 0, 2, 1])  # images 0 and 3 are class 0: right answers
    model = FirstPixel()
    preds = predict_labels(model, x)
    assert preds.tolist() == [0] * 6
    got = confident_mistakes(model, x, labels, preds, k=3)
    assert [i for i, _ in got] == [4, 2, 1]  # the wrong ones, brightest first
    expected = torch.softmax(torch.tensor([16.0] + [0.0] * 9), 0)[0]
    assert abs(got[0][1] - float(expected)) < 1e-4 and got[0][1] > got[1][1] > got[2][1]
    assert len(confident_mistakes(model, x, labels, preds, k=10)) == 4
    assert confident_mistakes(model, x, preds, preds) == []  # no mistakes, nothing to show
    assert model.training  # left as it was found
