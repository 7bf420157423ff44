"""The figures a run leaves behind and the app redraws while training (fmnist.report)."""

import numpy as np
import pytest

from conftest import legend_as_read
from fmnist.report import class_accuracy_figure, class_loss_figure, curves_figure, filters_figure


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


def busy_figures() -> dict:
    """Figures whose lines fill the whole plot, corner to corner (four runs of the seed's experiment, a class's
    runs): a legend inside would cover some of them."""
    xs = [0.25 * i for i in range(1, 101)]
    zigzag = [[50 + 40 * ((i + k) % 2) for i in range(len(xs))] for k in range(4)]  # top to bottom, every x
    runs = {f"#{k + 2} lenet bs{b}": (xs, zigzag[k]) for k, b in enumerate((32, 64, 100, 256))}
    seed = {32: 88.72, 64: 88.94, 100: 89.76, 256: 87.76}
    points = [(b, a) for b in (32, 64, 100, 256, 512) for a in (70.0, 80.0, 90.0)]
    class_curves = [(b, [2.0 - 1.5 * ((i + k) % 2) for i in range(25)]) for k, b in enumerate((256, 32, 100, 64, 8))]
    return {"runs": (curves_figure(runs, "test accuracy %", "Test accuracy", epochs=25), list(runs)),
            "class accuracy": (class_accuracy_figure(points, seed), ["a run", "mean", "the seed"]),
            # five "batch N" names would not fit one row: the numbers alone
            "class loss": (class_loss_figure(class_curves), ["8", "32", "64", "100", "256"])}


def test_the_class_loss_legend_names_the_seeds_four_sizes_in_one_row():
    """The seed's four batch sizes in one row under the loss plot, as the accuracy figure's three names are: the
    figures stand side by side on the Class tab and keep one height; "batch 32" where it fits, the numbers where not
    (the title says "by batch size")."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for batches, names in (((32, 64, 256), ["batch 32", "batch 64", "batch 256"]),
                           ((32, 64, 100, 256), ["32", "64", "100", "256"])):
        fig = class_loss_figure([(b, [1.0, 0.5]) for b in batches])
        FigureCanvasAgg(fig).draw()
        rows = {round(t.get_window_extent().y0) for t in fig.axes[0].get_legend().get_texts()}
        assert legend_as_read(fig) == names and len(rows) == 1, (batches, rows)
        assert fig.get_size_inches()[1] == class_accuracy_figure([(32, 80.0)], {32: 88.72}).get_size_inches()[1]


@pytest.mark.parametrize("name", ["runs", "class accuracy", "class loss"])
def test_a_legend_never_covers_the_curves(name):
    """With lines everywhere in the plot, the legend is in a band of its own under it: its box and the plot's do not
    meet, it is inside the figure, the plot is as large as a figure's without a legend, and the names read row by
    row in order."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, names = busy_figures()[name]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    plot, legend = ax.get_window_extent(renderer), ax.get_legend().get_window_extent(renderer)
    assert legend.y1 < plot.y0 - 20, f"{name}: the legend reaches into the plot or its axis labels"
    width, height = canvas.get_width_height()
    assert 0 <= legend.x0 and legend.x1 <= width and 0 <= legend.y0
    alone = curves_figure({"#1": ([1, 2], [1.0, 0.5])}, "loss", "Training loss")
    FigureCanvasAgg(alone).draw()
    assert plot.height == pytest.approx(alone.axes[0].get_window_extent().height, abs=2)
    assert legend_as_read(fig) == names


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
    from fmnist.data import CLASS_NAMES
    from fmnist.report import augmentation_figure, confusion_figure, mistakes_figure, per_class_figure, samples_figure

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
        # the class board's, projected to a whole class (demo/class_tab.py)
        "class accuracy": class_accuracy_figure([(b, 80.0) for b in (1, 8, 32, 64, 100, 256, 1024, 60000)],
                                                {32: 88.72, 64: 88.94, 100: 89.76, 256: 87.76}),
        "class loss": class_loss_figure([(b, [1.0, 0.5]) for b in (1, 8, 32, 64, 100, 256, 1024, 60000)]),
        "per class": per_class_figure(dict(zip(CLASS_NAMES, (77.4, 100.0, 32.9, 75.3, 4.1, 83.1, 51.2, 74.9, 87.4,
                                                             96.5))), "#12 cnn bs60000 aug (100.0 %)"),
    }


@pytest.mark.parametrize("name", ["loss", "samples", "mistakes", "filters", "confusion", "augmentation",
                                  "class accuracy", "class loss", "per class"])
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


def test_the_class_board_labels_batch_sizes_without_crowding():
    """Every batch size a class tried is labelled where there is room; where two labels would touch (64, 100 and
    128 close together, an axis up to 60,000) the seed's sizes come first and the other is left unlabelled."""
    seed = {32: 88.72, 64: 88.94, 100: 89.76, 256: 87.76}

    def labels(sizes):
        fig = class_accuracy_figure([(b, 80.0) for b in sizes], seed)
        return [t.get_text() for t in fig.axes[0].get_xticklabels()]

    assert labels([32, 64, 100, 128, 256, 512]) == ["32", "64", "100", "128", "256", "512"]
    crowded = labels([1, 8, 32, 64, 100, 120, 128, 256, 60000])
    assert "120" not in crowded and {"32", "256", "1", "60000"} <= set(crowded)


def test_the_per_class_figure_reads_level_and_names_the_hardest_class():
    """The Train tab's per-class accuracy (it was a Vega bar chart with 9-pixel slanted names and a 10-pixel title,
    unreadable on a projector): one level bar a class in the dataset's order, each with its figure, the hardest in
    another colour and called so, every text inside the figure at any value (a 4 % class, a 100 % class)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from fmnist.data import CLASS_NAMES
    from fmnist.report import per_class_figure

    for values in ((77.4, 100.0, 32.9, 75.3, 4.1, 83.1, 51.2, 74.9, 87.4, 96.5),
                   (97.0, 99.3, 92.9, 95.3, 92.9, 99.1, 81.2, 98.9, 99.4, 97.5)):
        fig = per_class_figure(dict(zip(CLASS_NAMES, values)), "#12 cnn bs60000 aug (100.0 %)")
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        ax = fig.axes[0]
        bars = ax.patches
        assert [round(b.get_width(), 1) for b in bars] == list(values)
        assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASS_NAMES)
        assert bars[0].get_y() < bars[-1].get_y() and ax.yaxis_inverted()  # T-shirt/top drawn at the top
        hardest = int(np.argmin(values))
        colours = [tuple(b.get_facecolor()) for b in bars]
        assert len({c for i, c in enumerate(colours) if i != hardest}) == 1 and colours[hardest] != colours[0]
        figures = [t.get_text() for t in ax.texts]
        assert figures[hardest] == f"{values[hardest]:.1f} (hardest)"
        assert [f for i, f in enumerate(figures) if i != hardest] == [f"{v:.1f}" for i, v in enumerate(values)
                                                                          if i != hardest]
        width, height = canvas.get_width_height()
        for t in [*ax.texts, ax.title, *ax.get_yticklabels()]:
            box = t.get_window_extent(canvas.get_renderer())
            assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height, t.get_text()
