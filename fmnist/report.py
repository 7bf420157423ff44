"""The files a training run leaves behind: results text, loss-curve and sample-prediction PNGs,
metrics.json. Figures are built with matplotlib's object API (no global pyplot state)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from fmnist.data import CLASS_NAMES
from fmnist.evaluate import Evaluation

# Figures are laid out in CSS pixels for the width they are shown at (on a 1280-pixel-wide projector screen,
# the Train tab's plots are ~440 or ~880 px wide), rendered at twice that resolution so they stay crisp when
# enlarged, with no text under TEXT_PX at that width.
SCREEN_DPI = 96  # CSS pixels per inch
RENDER_DPI = 192
TEXT_PX = 12.5  # the smallest text: labels, legends, counts
TITLE_PX = 15


def pt(px: float) -> float:
    """A text size in CSS pixels -> matplotlib points."""
    return px * 72 / SCREEN_DPI


def _figure(width_px: float, height_px: float, **kwargs) -> Figure:
    """A figure meant to be shown width_px x height_px CSS pixels (text sizes are set by each figure)."""
    return Figure(figsize=(width_px / SCREEN_DPI, height_px / SCREEN_DPI), dpi=RENDER_DPI, **kwargs)


def drawn_texts(fig: Figure) -> list:
    """Every piece of text a figure draws: its titles, axis labels, tick labels (of axes that are shown),
    legends and annotations."""
    texts = list(fig.texts) + ([fig._suptitle] if fig._suptitle is not None else [])
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title, *ax.texts]
        if ax.axison:
            texts += [ax.xaxis.label, ax.yaxis.label]
            for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
                low, high = sorted((low, high))  # labels of ticks outside the view are not drawn
                texts += [label for loc, label in zip(axis.get_ticklocs(), axis.get_ticklabels())
                          if low - 1e-9 <= loc <= high + 1e-9]
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
    unique = {id(t): t for t in texts}  # a suptitle is also among fig.texts
    return [t for t in unique.values() if t.get_visible() and t.get_text().strip()]


def smallest_text_px(fig: Figure) -> float:
    """The smallest text in a figure, in CSS pixels at its design width (tests, and a check on new figures)."""
    sizes = [t.get_fontsize() for t in drawn_texts(fig)]
    return min(sizes) * SCREEN_DPI / 72 if sizes else float("inf")


LEGEND_ROW_PX = 22


def _plot_figure(legend_entries: int, columns: int = 2) -> tuple[Figure, Axes]:
    """A 440x300-pixel figure with one plot at fixed margins (matplotlib's automatic layout costs more than the
    drawing) and, when there is a legend, a band of its own under the plot for it, `columns` names to a row: inside,
    a class's or four runs' curves leave no corner free. The figure grows by the band, so the plot keeps its size."""
    rows = -(-legend_entries // columns) if legend_entries else 0
    below = rows * LEGEND_ROW_PX + (6 if rows else 0)
    height = 300 + below
    fig = _figure(440, height)
    fig.subplots_adjust(left=0.16, right=0.97, top=1 - 33 / height, bottom=(51 + below) / height)
    return fig, fig.add_subplot()


def _columns_that_fit(names: list[str], most: int, width_px: float = 420) -> int:
    """How many legend entries a row of a 440-pixel figure holds, at most `most`: each is a line, a gap, its name
    (about 0.6 em a character) and the gap to the next, in ems of the legend's text."""
    em = max((1.5 + 0.8 + 0.6 * len(n) + 1.5 for n in names), default=1) * TEXT_PX
    return max(1, min(most, int(width_px // em)))


def _legend_below(fig: Figure, ax: Axes, columns: int = 2, entries: list | None = None) -> None:
    """The plot's legend in the band _plot_figure left under it: the names read row by row (matplotlib fills the
    columns first) in the order drawn, or that of `entries` [(handle, name)]."""
    handles, labels = map(list, zip(*entries)) if entries else ax.get_legend_handles_labels()
    order = [i for column in range(columns) for i in range(column, len(labels), columns)]
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=pt(TEXT_PX), loc="lower center",
              bbox_to_anchor=(0.5, 0.0), bbox_transform=fig.transFigure, ncol=columns, frameon=False,
              borderaxespad=0.3, handlelength=1.5, columnspacing=1.5)


def curves_figure(curves: dict[str, tuple[list[float], list[float]]], ylabel: str, title: str,
                  max_points: int = 300, epochs: int | None = None) -> Figure:
    """One line per run against epoch (fractional): {label: (epochs, values)}. Long curves are thinned
    to max_points (the app redraws this while training); short ones get a dot per point, so a
    one-epoch run still shows. With `epochs` (the runs' planned length) the axis runs from 0 to it from the
    first point on, so a curve grows into a frame that shows how far the run has come (a lone first point
    had an axis of its own, "0.945 … 1.050"). Two or more runs are named in a legend under the plot."""
    fig, ax = _plot_figure(len(curves) if len(curves) > 1 else 0)
    for label, (xs, ys) in curves.items():
        keep = list(range(0, len(xs), max(1, -(-len(xs) // max_points))))
        if keep and keep[-1] != len(xs) - 1:
            keep.append(len(xs) - 1)  # always the latest point
        xs, ys = [xs[i] for i in keep], [ys[i] for i in keep]
        ax.plot(xs, ys, label=label, linewidth=1.2, marker="o" if len(xs) <= 30 else None, markersize=3)
    _labels(ax, "epoch", ylabel, title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are counted, not measured: no "epoch 1.2"
    if epochs:
        last = max((max(xs) for xs, _ in curves.values() if len(xs)), default=0)
        span = max(epochs, last)
        ax.set_xlim(0, span * 1.03)  # the last epoch's dot whole, not cut by the frame
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        _legend_below(fig, ax)
    return fig


def samples_figure(images: np.ndarray, labels: list[int], preds: list[int], cols: int = 4,
                   confidence: list[float] | None = None, title: str | None = None) -> Figure:
    """A grid of 28x28 images, each titled with the predicted class (and the probability the model gave
    it, when given) over "right" or, in red, "true:" and the correct class."""
    n = len(images)
    rows = max(1, -(-n // cols))
    cell = 112 if confidence is None else 150  # "Ankle boot (96 %)" needs the wider cell
    fig = _figure(cols * cell, rows * 138 + (40 if title else 0), layout="constrained")
    if title:
        fig.suptitle(title, fontsize=pt(TITLE_PX))
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(images[i], cmap="gray", vmin=0, vmax=255)
        wrong = preds[i] != labels[i]
        sure = f" ({confidence[i] * 100:.0f} %)" if confidence is not None else ""
        correct = f"true: {_short(labels[i])}" if wrong else "right"
        ax.set_title(f"{_short(preds[i])}{sure}\n{correct}", fontsize=pt(TEXT_PX), color="red" if wrong else "black")
        ax.set_axis_off()
        if wrong:
            ax.add_patch(_frame(ax))
    return fig


def mistakes_figure(images: np.ndarray, labels, preds, mistakes: list[tuple[int, float]], cols: int = 4) -> Figure:
    """`evaluate.confident_mistakes` as a samples_figure, each titled with the probability given."""
    ids = [i for i, _ in mistakes]
    return samples_figure(images[ids], [int(labels[i]) for i in ids], [int(preds[i]) for i in ids], cols,
                          [p for _, p in mistakes],
                          "Wrong, and sure of it: the test images it got wrong\nmost confidently (the probability it gave)")


def _short(label: int) -> str:
    """A class's name short enough for a grid cell ("T-shirt", not "T-shirt/top")."""
    return CLASS_NAMES[label].split("/")[0]


def _frame(ax):
    from matplotlib.patches import Rectangle

    return Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, edgecolor="red", linewidth=3, clip_on=False)


def augmentation_figure(originals: np.ndarray, augmented: np.ndarray, labels: list[int],
                        pairs_per_row: int = 2) -> Figure:
    """Training images (N, 28, 28) next to what the network is trained on instead (`fmnist.augment`),
    pair by pair, each pair titled with its class."""
    n = len(originals)
    rows = -(-n // pairs_per_row)
    fig = _figure(pairs_per_row * 140, rows * 86 + 56, layout="constrained")
    fig.suptitle("Each training image (left) and\nas the network sees it (right)", fontsize=pt(TEXT_PX))
    for i in range(n):
        for j, image in enumerate((originals[i], augmented[i])):
            ax = fig.add_subplot(rows, 2 * pairs_per_row, 2 * i + j + 1)
            ax.imshow(image, cmap="gray", vmin=0, vmax=image.max() or 1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_title(_short(labels[i]), fontsize=pt(TEXT_PX), loc="left")
    return fig


def filters_figure(kernels: np.ndarray, when: str, cols: int = 12) -> Figure:
    """First-layer conv kernels (n, k, k) as small squares on one colour scale, titled with `when`
    ("after epoch 3"): red weights respond to bright (garment) pixels, blue to dark (background) ones;
    at initialisation they are noise, and training turns them into edge and blob detectors."""
    n, k = len(kernels), kernels.shape[-1]
    cols = min(cols, n)
    rows = -(-n // cols)
    scale = float(np.abs(kernels).max()) or 1.0
    fig = _figure(max(480, cols * 72), rows * 72 + 56, layout="constrained")
    fig.suptitle(f"The first layer's {n} filters ({k}×{k}) {when}\n"
                 "red weights look for bright (garment) pixels, blue for dark ones", fontsize=pt(TEXT_PX))
    for i, kernel in enumerate(kernels):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(kernel, cmap="RdBu_r", vmin=-scale, vmax=scale)
        ax.set_axis_off()
    return fig


def confusion_figure(confusion: list[list[int]]) -> Figure:
    """The confusion matrix as a heat map with counts (rows true, columns predicted)."""
    cm = np.asarray(confusion)
    fig = _figure(600, 560, layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(cm, cmap="Blues")
    short = [c.split("/")[0] for c in CLASS_NAMES]
    ax.set_xticks(range(10), short, rotation=90, fontsize=pt(TEXT_PX))
    ax.set_yticks(range(10), short, fontsize=pt(TEXT_PX))
    ax.set_xlabel("predicted", fontsize=pt(TEXT_PX))
    ax.set_ylabel("true", fontsize=pt(TEXT_PX))
    ax.set_title("Confusion matrix (test set)", fontsize=pt(TITLE_PX))
    for i in range(10):
        for j in range(10):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=pt(TEXT_PX),
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    return fig


def per_class_figure(accuracy: dict[str, float], run: str) -> Figure:
    """A run's test accuracy per class {class name: %}, one horizontal bar a class in the dataset's order (names
    read level, not slanted), its value at the bar's end; the hardest class in red and called so."""
    names, values = list(accuracy), [float(v) for v in accuracy.values()]
    hardest = int(np.argmin(values))
    fig = _figure(440, 360)
    fig.subplots_adjust(left=0.24, right=0.97, top=1 - 52 / 360, bottom=46 / 360)
    ax = fig.add_subplot()
    rows = range(len(names))
    # dark enough for white figures on them (contrast 5:1 and more)
    ax.barh(rows, values, color=["#a93226" if i == hardest else "#2e6da4" for i in rows], height=0.7)
    for i, v in zip(rows, values):  # the figure at the bar's end: inside it where it is long enough, else after it
        text = f"{v:.1f} (hardest)" if i == hardest else f"{v:.1f}"
        inside = v >= (42 if i == hardest else 22)
        ax.text(v - 1.5 if inside else v + 1.5, i, text, va="center", ha="right" if inside else "left",
                color="white" if inside else "black", fontsize=pt(TEXT_PX))
    ax.set_yticks(list(rows), names)
    ax.invert_yaxis()  # T-shirt/top at the top, as in the confusion matrix
    ax.set_xlim(0, 100)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)  # the grid behind the bars, not across their figures
    _labels(ax, "test accuracy %", "", f"Per-class test accuracy\n{run}")
    return fig


def results_text(evaluation: Evaluation, device: str, config: dict, epoch_losses: list[float],
                 seconds: float, samples: list[tuple[int, int]]) -> str:
    """The seed-style results report: config, device, losses, accuracies, sample predictions."""
    lines = [f"device: {device}", "config: " + ", ".join(f"{k}={v}" for k, v in config.items()),
             f"training time: {seconds:.1f} s", ""]
    lines += [f"epoch {i + 1:3d}  loss {loss:.4f}" for i, loss in enumerate(epoch_losses)]
    lines += ["", f"test accuracy: {evaluation.accuracy * 100:.2f} % of {evaluation.n}", "per class:"]
    lines += [f"  {name:12s} {acc * 100:6.2f} %" for name, acc in evaluation.per_class_accuracy.items()]
    lines += ["", "samples (ground truth -> predicted):"]
    lines += [f"  {CLASS_NAMES[t]:12s} -> {CLASS_NAMES[p]:12s}{'' if t == p else '   WRONG'}" for t, p in samples]
    return "\n".join(lines) + "\n"


def write_json(obj: object, path: Path) -> None:
    """Pretty JSON, newline-terminated."""
    path.write_text(json.dumps(obj, indent=2) + "\n")


def _batch_colours(batch_sizes) -> dict[int, tuple]:
    """One colour per batch size, small to large along one colour map, the same in every class figure."""
    from matplotlib import colormaps

    sizes = sorted(set(batch_sizes))
    cmap = colormaps["viridis"]
    return {b: cmap(0.85 * i / max(len(sizes) - 1, 1)) for i, b in enumerate(sizes)}


def class_accuracy_figure(points: list[tuple[int, float]], seed: dict[int, float]) -> Figure:
    """Test accuracy (%) against batch size for a class's runs: every run a dot, the mean per batch size a
    line, the seed's figures as crosses; a log-2 batch axis, ticks at the batch sizes there are."""
    fig, ax = _plot_figure(3 if points else 1, columns=3)
    colours = _batch_colours([b for b, _ in points])
    if points:
        ax.scatter([b for b, _ in points], [a for _, a in points], c=[colours[b] for b, _ in points], s=22,
                   alpha=0.8, label="a run", zorder=3)
        by_batch: dict[int, list[float]] = {}
        for b, a in points:
            by_batch.setdefault(b, []).append(a)
        sizes = sorted(by_batch)
        ax.plot(sizes, [float(np.mean(by_batch[b])) for b in sizes], color="black", linewidth=1.3, label="mean")
    ax.plot(sorted(seed), [seed[b] for b in sorted(seed)], "x--", color="tab:red", linewidth=0.8, label="the seed")
    ax.set_xscale("log", base=2)
    ticks = _spaced_ticks(ax, [*seed, *sorted({b for b, _ in points} - set(seed))])
    ax.set_xticks(ticks, [str(b) for b in ticks])
    ax.minorticks_off()
    _labels(ax, "batch size", "test accuracy %",
            f"Test accuracy by batch size ({len(points)} run{'s' if len(points) != 1 else ''})")
    ax.grid(alpha=0.3)
    _legend_below(fig, ax, columns=3)
    return fig


def _spaced_ticks(ax: Axes, values: list[int]) -> list[int]:
    """The x values to label, best first (the seed's batch sizes, then the others by size): each kept unless its
    label would touch one already kept (a class that tried 64, 100 and 128 on an axis up to 60,000)."""
    size_px = pt(TEXT_PX) * ax.figure.dpi / 72
    kept: list[tuple[float, float]] = []
    chosen = []
    ax.set_xlim(ax.get_xlim())  # the axis's limits as autoscaled, before the ticks move them
    for v in values:
        x = ax.transData.transform((v, 1))[0]
        half = (0.64 * len(str(v)) + 0.25) * size_px / 2  # a digit is 0.64 em wide in DejaVu Sans
        if all(x + half < left or x - half > right for left, right in kept):
            kept.append((x - half, x + half))
            chosen.append(v)
    return sorted(chosen)


def class_loss_figure(curves: list[tuple[int, list[float]]]) -> Figure:
    """Everyone's training-loss curves (mean loss of each epoch) overlaid, coloured by batch size:
    [(batch size, losses by epoch)]; a one-epoch run is a dot."""
    batches = sorted({batch for batch, losses in curves if losses})
    names = [f"batch {b}" for b in batches]
    if _columns_that_fit(names, most=len(names)) < len(names):  # the title says "by batch size": the numbers alone
        names = [str(b) for b in batches]  # keep the seed's four sizes in one row, as the other figure's legend
    columns = _columns_that_fit(names, most=len(names))
    fig, ax = _plot_figure(len(batches), columns=columns)
    colours = _batch_colours([b for b, _ in curves])
    labelled: dict[int, object] = {}  # batch size -> its first line, named in the legend
    for batch, losses in curves:
        if not losses:
            continue
        line, = ax.plot(range(1, len(losses) + 1), losses, color=colours[batch], linewidth=1.1, alpha=0.75,
                        marker="o" if len(losses) <= 30 else None, markersize=2.5)
        labelled.setdefault(batch, line)
    _labels(ax, "epoch", "training loss", "Everyone's training loss, by batch size")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if labelled:
        _legend_below(fig, ax, columns=columns, entries=[(labelled[b], name) for b, name in zip(batches, names)])
    return fig


def _labels(ax: Axes, xlabel: str, ylabel: str, title: str) -> None:
    """A plot's axis labels, tick labels and title at the sizes every figure here uses."""
    ax.set_xlabel(xlabel, fontsize=pt(TEXT_PX))
    ax.set_ylabel(ylabel, fontsize=pt(TEXT_PX))
    ax.set_title(title, fontsize=pt(TITLE_PX))
    ax.tick_params(labelsize=pt(TEXT_PX))
