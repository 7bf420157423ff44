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


@pytest.mark.parametrize("planned", [1, 5, 50])
def test_a_first_point_sits_in_the_whole_run_s_frame(planned):
    """After the first epoch of a planned run the axis already spans the run, in whole epochs, and the dot is
    inside the frame (a lone point had an axis of its own, "0.945 … 1.050")."""
    fig = curves_figure({"#1 lenet bs100": ([1], [45.0])}, "test accuracy %", "Test accuracy", epochs=planned)
    fig.canvas.draw()
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert low == 0 and planned < high <= planned * 1.05
    assert ticks[0] == 0 and ticks[-1] >= 0.75 * planned and all(float(t).is_integer() for t in ticks)
    # a run that went on past the planned length (one loaded from elsewhere) still fits
    fig = curves_figure({"#1": ([1, 2, 3], [1.0, 0.8, 0.7])}, "loss", "Training loss", epochs=2)
    assert fig.axes[0].get_xlim()[1] >= 3


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


def every_train_tab_figure():
    """Each figure the Train tab and the CLI show, with realistic contents (the longest names, 4-digit counts)."""
    from fmnist.report import augmentation_figure, confusion_figure, mistakes_figure, samples_figure

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (16, 28, 28)).astype(np.uint8)
    labels, preds = [9, 0] * 8, [0, 9] * 8
    curves = {f"#{i} lenet bs{b} aug (90.1 %)": ([1, 2, 3], [0.5, 0.4, 0.3]) for i, b in enumerate((32, 256), 1)}
    return {
        "loss": curves_figure(curves, "loss (running mean)", "Training loss"),
        "samples": samples_figure(images, labels, preds, cols=8, title="Sample test images after epoch 3"),
        "mistakes": mistakes_figure(images, labels, preds, [(i, 0.96) for i in range(8)], cols=4),
        "filters": filters_figure(rng.normal(size=(24, 3, 3)), "after epoch 3"),
        "confusion": confusion_figure([[1000] * 10] * 10),
        "augmentation": augmentation_figure(images[:8], images[:8] / 255, labels[:8]),
    }


@pytest.mark.parametrize("name", ["loss", "samples", "mistakes", "filters", "confusion", "augmentation"])
def test_figures_are_legible_on_a_projector(name):
    """No text under 12 CSS pixels at the width a figure is laid out for, rendered at twice that resolution,
    and no two texts overlapping (titles of neighbouring cells, tick labels, counts)."""
    from fmnist.report import RENDER_DPI, SCREEN_DPI, drawn_texts, smallest_text_px

    fig = every_train_tab_figure()[name]
    assert smallest_text_px(fig) >= 12, name
    assert fig.dpi == RENDER_DPI == 2 * SCREEN_DPI
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in drawn_texts(fig)]
    shared = [Bbox.intersection(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]]
    overlaps = [box for box in shared if box is not None and box.width > 1 and box.height > 1]
    assert not overlaps, f"{name}: {len(overlaps)} overlapping texts"
    width, height = canvas.get_width_height()
    outside = [b for b in boxes if b.x0 < -1 or b.y0 < -1 or b.x1 > width + 1 or b.y1 > height + 1]
    assert not outside, f"{name}: {len(outside)} texts cut off at the figure's edge"
