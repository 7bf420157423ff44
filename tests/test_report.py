"""The figures a run leaves behind and the app redraws while training (fmnist.report)."""

import numpy as np
import pytest

from fmnist.report import curves_figure, filters_figure


def test_epochs_are_counted_in_whole_numbers():
    fig = curves_figure({"#1 lenet bs32": ([1, 2], [76.4, 77.2]), "#2 lenet bs256": ([1, 2], [63.3, 68.5])},
                        "test accuracy %", "Test accuracy")
    fig.canvas.draw()
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert ticks and all(float(t).is_integer() for t in ticks)  # no "epoch 1.2" between two epochs


def test_long_curves_are_thinned_and_keep_the_latest_point():
    xs = [0.1 * i for i in range(1, 1002)]
    fig = curves_figure({"#1": (xs, list(range(len(xs))))}, "loss", "Training loss", max_points=300)
    line = fig.axes[0].get_lines()[0]
    assert len(line.get_xdata()) <= 301 and line.get_xdata()[-1] == xs[-1]


def test_filters_share_one_colour_scale_centred_on_zero():
    kernels = np.zeros((6, 5, 5), dtype=np.float32)
    kernels[0, 2, 2], kernels[3, 0, 0] = 0.8, -0.2
    fig = filters_figure(kernels, "after epoch 1")
    images = [ax.get_images()[0] for ax in fig.axes]
    # one scale for all, centred on zero: 0 is white in every square
    assert len(images) == 6 and all(im.get_clim() == pytest.approx((-0.8, 0.8)) for im in images)
    assert np.array_equal(images[3].get_array(), kernels[3])
    assert "6 filters (5×5) after epoch 1" in fig.get_suptitle()
