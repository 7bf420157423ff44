"""The Train tab: Adam with a batch size the student picks (or the seed's four in turn), with or without
sketch-style augmentation. Settings are checked before anything starts; a run waits for a training slot
(told its place in the queue), trains through `demo.training` (on the GPU on ZeroGPU), streams its loss
curve, test accuracy, sample predictions and first-layer filters, and ends with its measurements, its
checkpoint and an offer to draw for it. Every run of the session stays for comparison."""

from __future__ import annotations

import math
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import gradio as gr
import pandas as pd
import torch
from pandas.io.formats.style import Styler

from demo import serving, stopping, training
from demo.class_tab import nickname_box, nickname_problem, record_run
from demo.models import is_number, picker_entries
from demo.tables import fixed_decimals
from demo.turns import TrainingQueue
from fmnist import estimate, report
from fmnist.augment import dataset_silhouettes, preview
from fmnist.board import check_nickname
from fmnist.checkpoint import save_checkpoint
from fmnist.data import DataFormatError, DataNotFoundError, FashionMNIST
from fmnist.evaluate import report_run
from fmnist.models import MODELS, build_model, first_filters
from fmnist.sketches import sketch_set
from fmnist.train import EpochRecord, StepRecord, TrainConfig

SEED_BATCH_SIZES = [32, 64, 100, 256]
EXPLAIN = """
- **Batch size**: how many training images the network looks at before each update of its weights.
  Small batches make many small, noisy steps per epoch; big ones fewer, smoother steps (and each epoch
  is faster on a CPU).
- **Epochs**: passes over the training images. **Learning rate**: the size of Adam's steps.
- **Sketch-style augmentation**: half of every batch is redrawn as outlines and filled silhouettes,
  so the network also learns what a drawing of a garment looks like, not just a photo. Tick it to see
  eight training images next to what the network is shown instead (change the seed for others).
- **The first layer's filters**: each small square is one pattern (5×5 pixels for LeNet, 3×3 for the
  CNN) that the first convolution slides over the picture. They start as random noise; watch them turn
  into detectors of edges and bright or dark patches as the network learns.
- **The seed's experiment** (LeNet, Adam, lr 0.001, 25 epochs) got 88.72 / 88.94 / **89.76** / 87.76 %
  test accuracy with batch 32 / 64 / 100 / 256. Its network ended with a softmax *and* trained with
  cross-entropy, which applies one itself; without that double softmax the same runs reach 90.15 /
  90.82 / 90.83 / 90.48 % here.
"""
REFRESH_S = 0.5  # the status line is refreshed at most this often
PLOT_REFRESH_S = 2.0  # the loss curve is redrawn at most this often (a matplotlib PNG)
QUEUE_POLL_S = 1.0  # a waiting run's place in the queue is refreshed this often
MAX_SESSION_RUNS = 12  # trained models one session keeps (the oldest are let go; each is a model in memory)
# The settings a student can get wrong, in words; the fields' ranges.
LIMITS = {"batch_size": (1, 60000), "epochs": (1, 50), "images": (1000, 60000), "seed": (0, 2**63 - 1)}
LR_RANGE = (1e-6, 1.0)
FIELD_NAMES = {"batch_size": "Batch size", "epochs": "Epochs", "images": "Training images", "seed": "Seed"}
QUEUE = TrainingQueue(serving.MAX_TRAININGS)
_runs_root = None
_runs_root_lock = threading.Lock()


# ---- A session's runs: values only (they live in gr.State and cross the ZeroGPU boundary as copies) ----

TRAINING, MEASURING = "training", "measuring"  # a run's status in the table until it has ended

@dataclass(frozen=True)
class RunSummary:
    """One run of the session as the results table and the curves show it."""

    name: str  # "#2 lenet bs100"
    config: TrainConfig
    ending: str = TRAINING  # then MEASURING, then one of demo.training's endings
    epochs_done: int = 0
    seconds: float = 0.0
    loss: tuple = ()  # ((epoch, running loss), ...)
    acc: tuple = ()  # ((epoch, test accuracy %), ...)
    accuracy: float | None = None  # measured at the end, on the whole test set
    sketch: dict = field(default_factory=dict)  # accuracy on drawings, by kind


@dataclass(frozen=True)
class Session:
    """A student's session as the handlers see it: who, their runs so far, their models (name -> (model, meta))."""

    id: str  # Gradio's session hash ("local" without a browser)
    runs: tuple = ()  # RunSummary, oldest first
    models: dict = field(default_factory=dict)
    nickname: str | None = None  # shown with the session's runs on the class board


@dataclass(frozen=True)
class RunOutcome:
    """How train_session ended, for the sweep: the session afterwards."""

    ending: str | None  # demo.training's endings, "cancelled" (left the queue), None (refused before queueing)
    session: Session


def settings_problems(values: dict) -> tuple[TrainConfig | None, dict[str, str]]:
    """The form's raw values -> (the TrainConfig, {}) or (None, {field: what is wrong, in words})."""
    problems = {}

    def whole(key):
        low, high = LIMITS[key]
        x = values.get(key)
        if not (is_number(x) and x == int(x)) or not low <= x <= high:
            problems[key] = f"{FIELD_NAMES[key]} must be a whole number from {low:,} to {high:,}."
            return None
        return int(x)

    batch, epochs, images, seed = whole("batch_size"), whole("epochs"), whole("images"), whole("seed")
    lr = values.get("lr")
    if not (is_number(lr) and LR_RANGE[0] <= lr <= LR_RANGE[1]):
        problems["lr"] = "Learning rate must be between 0.000001 and 1 (the seed used 0.001)."
    if values.get("model") not in MODELS:
        problems["model"] = f"Model must be one of {', '.join(MODELS)}."
    nickname = nickname_problem(values.get("nickname"))
    if nickname:
        problems["nickname"] = nickname
    if problems:
        return None, problems
    return TrainConfig(model=values["model"], batch_size=batch, epochs=epochs, lr=float(lr), seed=seed,
                       subset=None if images >= 60000 else images, log_every=log_every(batch, images),
                       augment=bool(values.get("augment"))), {}


def moved_into_range(key: str, before, now) -> str:
    """The note for a slider that Gradio has just moved into its range (it does so when its box loses focus):
    typed `before`, out of range, and now at the nearest end `now`; else ""."""
    low, high = LIMITS[key]
    if not is_number(before) or low <= before <= high or now != (low if before < low else high):
        return ""
    typed = f"{int(before):,}" if before == int(before) else f"{before:,}"
    return f"ℹ️ {FIELD_NAMES[key]} go from {low:,} to {high:,}, so the slider set {int(now):,} in place of {typed}."


def log_every(batch_size: int, images: int = 60000) -> int:
    """Steps between records: a few tenths of a second of work, so Stop is felt within a second, and at least
    8 records an epoch, so a short run's loss curve is a curve (2,000 images in batches of 100 gave one dot an
    epoch)."""
    steps = -(-images // max(batch_size, 1))
    return max(1, min(20, 3000 // max(batch_size, 1), steps // 8))


# The per-class bars are laid out 440 pixels wide (fmnist.report): a whole row of the Train tab (880 and more) blew
# them up to 22-pixel names; at most 1.5 times their size, centred, they stay one glance on a projector.
# On a phone the other figures, laid out 600-900 pixels wide, came out at 40 % of that: 5-pixel names under garments
# 45 pixels tall. There they keep at least 80 % of their design and scroll sideways inside their own box (the page
# does not); centred, a figure's left part would be out of reach, so it starts at the box's left edge. A line under
# each figure that scrolls says so (a phone shows no scrollbar until a finger moves it: the figure just looked cut).
# The run's column is at least a screen tall there, so the page can scroll its status line to the top when Start is
# pressed (SHOW_RUN_JS) although the pictures under it are still hidden (REVEALED).
TRAIN_CSS = """
#per-class img { max-width: min(660px, 100%); margin: 0 auto; display: block; }
@media (max-width: 640px) {
  #samples .matplotlib, #filters .matplotlib, #confusion .matplotlib, #mistakes .matplotlib {
    overflow-x: auto; justify-content: flex-start; align-items: flex-start; }
  #samples::after, #filters::after, #confusion::after, #mistakes::after {
    content: "↔ Swipe the picture sideways to see all of it"; display: block; text-align: center; font-size: 13px;
    color: #4b5563; padding: 2px 0 4px; }
  #samples img { min-width: 720px; }
  #filters img { min-width: 690px; }
  #confusion img, #mistakes img { min-width: 480px; }
  #train-run { min-height: 100vh; }
}
@media (min-width: 501px) and (max-width: 640px) {  /* the 480-pixel figures still fit: nothing to swipe */
  #confusion::after, #mistakes::after { content: none; }
}
"""
# On a narrow screen the columns stack and the form comes first: a student who pressed Start saw nothing change (the
# status line a few pixels high at the bottom, the curves a screen further down). There the page scrolls to the run.
# A listener on the page (demo.serving.launch_kwargs runs this once it has loaded): a Gradio listener with only `js`
# on these buttons never ran in this app (Gradio 6.31).
SHOW_RUN_JS = """() => document.addEventListener('click', e => {
  if (window.innerWidth <= 640 && e.target.closest('#start, #sweep'))
    setTimeout(() => document.getElementById('train-status')?.scrollIntoView({block: 'start'}), 50);
}, true)"""


def training_device() -> str:
    """Where this server's runs train: "cuda" on ZeroGPU or with a GPU, else "cpu"."""
    return "cuda" if serving.on_zero_gpu() or torch.cuda.is_available() else "cpu"


def too_long(cfg: TrainConfig) -> str:
    """Why a run is refused before it starts (on ZeroGPU: more GPU time than one run may ask for), or ""."""
    if not serving.on_zero_gpu():
        return ""
    need = estimate.estimate_seconds(cfg, "cuda") * estimate.MARGIN
    cap = serving.MAX_GPU_SECONDS
    if need <= cap:
        return ""
    fits = next((e for e in range(cfg.epochs - 1, 0, -1)
                 if estimate.estimate_seconds(replace(cfg, epochs=e), "cuda") * estimate.MARGIN <= cap), 1)
    return (f"This run would need about {need:.0f} s of GPU time; this Space allows {cap:g} s a run "
            f"(FMNIST_MAX_GPU_SECONDS). Lower the epochs to {fits} or fewer, use fewer training images, or a "
            "larger batch size.")


def cost_text(cfg: TrainConfig | None) -> str:
    """What the chosen settings will cost, shown before Start."""
    if cfg is None:
        return ""
    refused = too_long(cfg)
    if refused:
        return f"⚠️ {refused}"
    if serving.on_zero_gpu():
        return (f"⏱ This run asks ZeroGPU for **{estimate.gpu_request_seconds(cfg, serving.MAX_GPU_SECONDS)} s** "
                "of GPU time (from your daily quota; unused seconds are not charged).")
    device = training_device()
    where = "this server's GPU" if device == "cuda" else "this server's CPU"
    return f"⏱ About **{fmt_seconds(estimate.wait_seconds(cfg, device))}** on {where}."


def fmt_seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


def runs_folder(session: str) -> Path:
    """Where this session's checkpoints are written (removed when the student leaves: forget_session)."""
    global _runs_root
    with _runs_root_lock:
        if _runs_root is None:
            _runs_root = Path(tempfile.mkdtemp(prefix="fmnist-runs-"))
    folder = _session_folder(session)
    folder.mkdir(exist_ok=True)
    return folder


def _session_folder(session: str) -> Path:
    return _runs_root / "".join(c for c in session if c.isalnum())[:64]


def forget_session(session: str) -> None:
    """The student left: stop their run or queued request and delete their checkpoint files."""
    stopping.request_stop(session)
    if _runs_root is not None:
        shutil.rmtree(_session_folder(session), ignore_errors=True)  # not runs_folder: that would create it


# ---- Figures ----

def curves_plot(runs, key: str):
    """Every run of the session on one figure: the loss ("loss") or test accuracy ("acc") curves.
    (matplotlib, not gr.LinePlot: Gradio 6.31's LinePlot draws only the runs present at its first value.)"""
    curves = {run.name: tuple(zip(*getattr(run, key))) for run in runs if getattr(run, key)}
    epochs = max((run.config.epochs for run in runs), default=None)  # the longest run planned: the axis's length
    if key == "loss":
        return report.curves_figure(curves, "loss (running mean)", "Training loss", epochs=epochs)
    return report.curves_figure(curves, "test accuracy %", "Test accuracy", epochs=epochs)


# What the Train tab says before its first run; the results below it are hidden until a run gives them (REVEALED).
READY_TEXT = ("Pick a batch size and press **Start training**: the loss curve, the test accuracy after each epoch, a "
              "grid of sample predictions and what the first layer learns appear here as it trains; the per-class "
              "accuracy, the confusion matrix, the worst mistakes and the checkpoint when it ends.")
BUSY_TEXT = ("⚠️ Your run is still training or waiting for its turn: press **Stop** first, or wait for it to end. "
             "(One run at a time for each page, so that Stop always reaches the one that is running.)")
# The Train tab's pictures and checkpoint: hidden until a run first gives them a value, so a fresh tab shows no empty
# boxes (the runs table stays: its named columns say what each run will be measured on).
REVEALED = ("loss_plot", "acc_plot", "samples", "filters", "per_class_plot", "confusion", "mistakes", "checkpoint_file")


def revealed(key: str, value):
    """A run's update for one Train tab output -> what the page gets: a picture or file (REVEALED) shown with its
    value; anything else as it is."""
    if key not in REVEALED or isinstance(value, dict):
        return value
    return gr.update(value=value, visible=True)


def results_frame(runs, running: RunSummary | None = None) -> Styler:
    """The session's finished runs as the table shows them (`.data`: the frame itself), and under them the run that
    is `running` (its ending TRAINING or MEASURING), with the epochs it has done, its last epoch's test accuracy and
    its time so far: a student who pressed Start sees their run in the table at once, not a table of headers alone."""
    rows = [[r.name, r.config.batch_size, r.epochs_done, r.config.lr, round(r.accuracy * 100, 2),
             round(r.sketch.get("outline", math.nan) * 100, 1), round(r.sketch.get("filled", math.nan) * 100, 1),
             round(r.seconds, 1), r.ending] for r in runs if r.accuracy is not None]
    if running is not None:
        last = round(running.acc[-1][1], 2) if running.acc else math.nan
        rows.append([running.name, running.config.batch_size, running.epochs_done, running.config.lr, last, math.nan,
                     math.nan, round(running.seconds, 1), running.ending])
    frame = pd.DataFrame(rows, columns=["run", "batch size", "epochs", "lr", "test acc %", "outlines %", "filled %",
                                        "time s", "status"])
    return fixed_decimals(frame, {"test acc %": 2, "outlines %": 1, "filled %": 1, "time s": 1})


def status_line(name: str, rec, cfg: TrainConfig, device: str) -> str:
    done = rec.step / rec.total_steps
    left = rec.elapsed_s * (1 - done) / done if done > 0 else math.nan
    speed = f" · {rec.images_per_s:,.0f} img/s" if isinstance(rec, StepRecord) else ""
    acc = f" · test accuracy {rec.test_acc * 100:.2f} %" if isinstance(rec, EpochRecord) else ""
    return (f"{name} · **Epoch {rec.epoch}/{cfg.epochs}** · step {rec.step:,}/{rec.total_steps:,}{speed}{acc} · "
            f"~{left:,.0f} s left · {device}")


def augmentation_preview(augment: bool, seed):
    """Shown while the augmentation box is ticked: eight training images (picked by the seed) and what
    sketch-style augmentation turns them into; hidden when it is off or the server has no data."""
    if not augment:
        return gr.update(visible=False)
    if not (isinstance(seed, (int, float)) and math.isfinite(seed) and seed == int(seed)):
        return gr.update(visible=False)
    try:
        data = training.dataset()
    except (DataNotFoundError, DataFormatError):
        return gr.update(visible=False)
    idx = torch.randperm(len(data.train_labels), generator=torch.Generator().manual_seed(abs(int(seed)) % 2**63))[:8]
    images = data.train_images[idx]
    figure = report.augmentation_figure(images.numpy(), preview(images, int(seed)).numpy(),
                                        data.train_labels[idx].tolist())
    return gr.update(value=figure, visible=True)


# ---- One run, from the queue to its measurements ----

def prepare_sketches_meanwhile(data: FashionMNIST) -> None:
    """Build the sketch set in the background while the first run trains, so its end is not delayed."""
    if not sketch_set.ready(data):
        threading.Thread(target=sketch_set, args=(data,), daemon=True, name="sketch-set").start()


def wait_for_slot(cfg: TrainConfig, token: stopping.StopToken, run_name: str):
    """Queue for a training slot, telling the student their place; returns the ticket once it is this run's
    turn, or None if Stop took it out of the queue first. The caller must QUEUE.leave(ticket)."""
    ticket = QUEUE.join(estimate.estimate_seconds(cfg, training_device()))
    while not QUEUE.wait_turn(ticket, QUEUE_POLL_S if not token.is_set() else 0):
        if token.is_set():
            QUEUE.leave(ticket)
            return None
        ahead, wait = QUEUE.ahead(ticket)
        runs = "1 run is" if ahead == 1 else f"{ahead} runs are"
        yield {"status": f"⏳ **Waiting for a training slot**: {runs} ahead of yours (someone else is training), "
                         f"your turn in about {fmt_seconds(wait)}. {run_name} starts by itself; Stop takes it out "
                         "of the queue."}
    if token.is_set():
        QUEUE.leave(ticket)
        return None
    return ticket


def train_session(cfg: TrainConfig, session: Session, token: stopping.StopToken):
    """One run: wait for a slot, train (streaming updates), then measure it and add its model to the
    session's. Yields {output name: value}; returns a RunOutcome."""
    runs = session.runs
    try:
        data = training.dataset()
    except (DataNotFoundError, DataFormatError) as err:
        yield {"status": "❌ Training needs the Fashion-MNIST files on the server.\n\n```\n" + str(err) + "\n```"}
        return RunOutcome(None, session)
    refused = too_long(cfg)
    if refused:
        yield {"status": f"❌ {refused}"}
        return RunOutcome(None, session)
    summary = RunSummary(f"#{len(runs) + 1} {cfg.model} bs{cfg.batch_size}{' aug' if cfg.augment else ''}", cfg)
    if cfg.augment and not dataset_silhouettes.ready(data.train_images):
        yield {"status": "Preparing the sketch-style augmentation: the silhouettes of all training images, once per "
                         "server (about half a minute)…"}
        dataset_silhouettes(data.train_images)  # here, not in a GPU worker: computed once, on the CPU
    prepare_sketches_meanwhile(data)
    ticket = yield from wait_for_slot(cfg, token, summary.name)
    if ticket is None:
        yield {"status": f"⏹ Cancelled: {summary.name} left the queue before it began; nothing was trained."}
        return RunOutcome("cancelled", session)
    try:
        trained, summary = yield from _train(cfg, data, summary, runs, token)
    except Exception:
        yield {"results": results_frame(runs)}  # the error is told by the page; no row is left "training"
        raise
    finally:
        QUEUE.leave(ticket)  # measuring happens outside the slot: the next student can start meanwhile
    estimate.observe(cfg, trained.device.split(" ")[0], trained.seconds_per_step)
    return (yield from _finish(cfg, data, trained, summary, session))


def _time_limit(cfg: TrainConfig) -> float:
    limit = serving.MAX_TRAIN_MINUTES * 60
    if serving.on_zero_gpu():  # stop in good time inside the GPU time asked for, keeping the model
        limit = min(limit, max(5.0, estimate.gpu_request_seconds(cfg, serving.MAX_GPU_SECONDS) - 5.0))
    return limit


def _train(cfg: TrainConfig, data: FashionMNIST, summary: RunSummary, runs: tuple, token: stopping.StopToken):
    """Stream the run's progress as UI updates; returns (demo.training.Trained, the summary with its curves)."""
    loss, acc, epochs_done, seconds = [], [], 0, 0.0
    last = last_plot = 0.0
    device = "…"
    steps_per_epoch = None
    sample_ids = []  # the test images of the sample grid (Started.sample_indices), the same for every epoch

    def current(**changes):
        return replace(summary, loss=tuple(loss), acc=tuple(acc), epochs_done=epochs_done, seconds=seconds, **changes)

    request = training.TrainRequest(cfg, token, _time_limit(cfg))
    for item in training.train_on_gpu(request):
        if isinstance(item, training.Started):
            device, sample_ids = item.device, item.sample_indices
            # both curves' frames at once, side by side: the loss plot shown alone took the whole row, twice as high,
            # until the first epoch's accuracy came and halved it, moving everything under it 300 px up
            yield {"status": f"Starting {summary.name} on {device}…",
                   "results": results_frame(runs, current(ending=TRAINING)),
                   "loss_plot": curves_plot([*runs, current()], "loss"),
                   "acc_plot": curves_plot([*runs, current()], "acc"),
                   "samples": samples_grid(data, sample_ids, item.sample_preds,
                                           "Sample test images before training: the random network's guesses "
                                           "(wrong in red)"),
                   "filters": report.filters_figure(item.filters, "at the start (random)")}
            continue
        if isinstance(item, training.Trained):
            return item, current()
        rec = item.record
        steps_per_epoch = steps_per_epoch or rec.total_steps // cfg.epochs
        seconds = rec.elapsed_s
        update = {}
        if isinstance(rec, StepRecord):
            loss.append((rec.step / steps_per_epoch, rec.loss))
        else:
            acc.append((rec.epoch, rec.test_acc * 100))
            epochs_done = rec.epoch
            update["samples"] = samples_grid(
                data, sample_ids, rec.sample_preds,
                f"Sample test images after epoch {rec.epoch}: predicted vs correct (wrong in red)")
            update["acc_plot"] = curves_plot([*runs, current()], "acc")
            update["filters"] = report.filters_figure(item.filters, f"after epoch {rec.epoch}")
            update["results"] = results_frame(runs, current(ending=TRAINING))
        now = time.monotonic()
        if update or now - last_plot >= PLOT_REFRESH_S:
            update["loss_plot"] = curves_plot([*runs, current()], "loss")
            last_plot = now
        if update or now - last >= REFRESH_S:
            update["status"] = status_line(summary.name, rec, cfg, device)
            last = now
            yield update
    raise RuntimeError("the training stream ended without its result")  # a worker that died mid-run


def samples_grid(data: FashionMNIST, ids: list[int], preds: list[int], title: str):
    """The sample test images with a run's guesses for them, eight to a row: shown from the start of a run (the
    untrained net's guesses), then after each epoch, in one place (it came after the first epoch, and pushed what
    lay under it down by its height)."""
    return report.samples_figure(data.test_images.numpy()[ids], data.test_labels[ids].tolist(), preds, cols=8,
                                 title=title)


def _headline(ending: str, detail: str) -> str:
    if ending == training.FINISHED:
        return "✅ Finished"
    if ending == training.STOPPED:
        return "⏹ Stopped early"
    if ending == training.TIME_LIMIT:
        return (f"⚠️ Stopped, time limit: this server stops a run after {serving.MAX_TRAIN_MINUTES:g} minutes "
                "(FMNIST_MAX_TRAIN_MINUTES); the model so far is kept")
    return f"⚠️ Stopped, diverged: {detail}"


def _finish(cfg: TrainConfig, data: FashionMNIST, trained, summary: RunSummary, session: Session):
    """Keep the trained model at once, then measure it (test set, drawings), save its checkpoint and offer it."""
    model = build_model(cfg.model, **cfg.model_options())
    model.load_state_dict(trained.state_dict)
    history = trained.history
    summary = replace(summary, ending=trained.ending, epochs_done=len(history), seconds=trained.seconds)
    headline = _headline(trained.ending, trained.detail)
    yield {"status": f"{headline}: **{summary.name}** after {len(history)} epoch(s), {trained.seconds:.0f} s on "
                     f"{trained.device}. Measuring it on the test set and on drawings…",
           "results": results_frame(session.runs, replace(summary, ending=MEASURING))}
    result = report_run(model, data, cfg, history, trained.seconds, trained.device,
                        None if trained.ending == training.FINISHED else trained.detail)
    evaluation, metrics = result.assessment.evaluation, result.metrics
    sketch = metrics["sketch_accuracy"]
    board_note = record_run(model=cfg.model, batch_size=cfg.batch_size, epochs=cfg.epochs, lr=cfg.lr, seed=cfg.seed,
                            train_images=min(estimate.training_images(cfg), len(data.train_labels)),
                            augment=cfg.augment, device=trained.device, train_seconds=trained.seconds,
                            metrics=metrics, outcome=trained.ending, loss_curve=[r.loss for r in history],
                            acc_curve=[r.test_acc for r in history], nickname=session.nickname)
    # The model kept after a stop mid-epoch gets its own point on the accuracy curve (a lone first-epoch
    # point would draw no line at all).
    loss, acc = summary.loss, summary.acc
    reached = loss[-1][0] if loss else 0.0
    if not acc or reached > acc[-1][0]:
        acc = (*acc, (round(reached, 3), evaluation.accuracy * 100))
    summary = replace(summary, acc=acc, accuracy=evaluation.accuracy, sketch=sketch)
    runs = (*session.runs, summary)
    name = f"{summary.name} ({evaluation.accuracy * 100:.1f} %)"
    path = save_checkpoint(result.checkpoint, runs_folder(session.id) /
                           f"{cfg.model}-bs{cfg.batch_size}-acc{evaluation.accuracy * 100:.1f}.pt")
    meta = {k: v for k, v in result.checkpoint.items() if k != "state_dict"}
    models = dict(session.models)
    trained_names = [n for n, (_, m) in models.items() if not m.get("loaded_from")]
    for old in trained_names[: max(0, len(trained_names) - MAX_SESSION_RUNS + 1)]:
        del models[old]  # the session's oldest trained models make room (their runs stay in the table)
    models = {**models, name: (model, meta)}
    per_class = report.per_class_figure({c: a * 100 for c, a in evaluation.per_class_accuracy.items()}, name)
    yield {
        "status": f"{headline}: **{name}** after {summary.epochs_done} epoch(s), {summary.seconds:.0f} s on "
                  f"{trained.device}; drawings: outlines {sketch['outline'] * 100:.1f} %, filled "
                  f"{sketch['filled'] * 100:.1f} %. Press **Use it for drawing** to try it in the Predict tab "
                  f"(for you only). {board_note}".rstrip(),
        "loss_plot": curves_plot(runs, "loss"),
        "acc_plot": curves_plot(runs, "acc"),
        "results": results_frame(runs),
        "per_class_plot": per_class,
        "confusion": report.confusion_figure(evaluation.confusion),
        "mistakes": report.mistakes_figure(data.test_images.numpy(), data.test_labels, result.assessment.preds,
                                           result.assessment.mistakes, cols=4),
        "filters": report.filters_figure(first_filters(model), f"after {summary.name}'s training"),
        "checkpoint_file": str(path),
        "runs_state": runs,
        "models_state": models,
        "model_picker": gr.update(choices=picker_entries(models)),
        "offer_state": name,
        "use_button": gr.update(value=f"Use {name} for drawing", visible=True),
    }
    return RunOutcome(trained.ending, replace(session, runs=runs, models=models))


def sweep_session(cfg: TrainConfig, session: Session, token: stopping.StopToken):
    """The seed's experiment in the browser: one run per batch size of SEED_BATCH_SIZES, in turn, with the
    other settings of cfg shared. Stop (or a run that fails, is refused or diverges) ends the whole sweep."""
    for batch_size, next_size in zip(SEED_BATCH_SIZES, [*SEED_BATCH_SIZES[1:], None]):
        run_cfg = replace(cfg, batch_size=batch_size, log_every=log_every(batch_size, cfg.subset or 60000))
        outcome = yield from train_session(run_cfg, session, token)
        session = outcome.session
        if outcome.ending != training.FINISHED:
            return outcome  # refused, cancelled, stopped mid-run or diverged: its own message says so
        if token.is_set() and next_size is not None:
            yield {"status": f"⏹ The seed's experiment was stopped before batch size {next_size}; its "
                             f"{len(session.runs)} finished run(s) are kept."}
            return outcome
    return outcome


# ---- The tab ----

class LenientSlider(gr.Slider):
    """A slider whose typed-in value reaches the handler as it is: Gradio's own range check would answer a
    value out of range with a bare red "Error"; the Train tab explains it in words next to the field."""

    is_template = True  # drawn by the frontend as the Slider it is (Gradio's mechanism for component templates)

    def preprocess(self, payload):
        return payload


def session_of(request: gr.Request | None) -> str:
    """The browser session a request comes from ("local" when called without one, as in tests)."""
    return request.session_hash if request is not None and request.session_hash else "local"


def stop_request(request: gr.Request) -> str:
    """Stop: take this session's run out of the queue, or end its training after the current step
    (keeping the model). Answers in its own line, so a finished run's summary stays."""
    if stopping.request_stop(session_of(request)):
        return "⏹ Stop requested: a queued run leaves the queue, a training one stops after this step."
    return "Nothing of yours is training or waiting."


def forget_on_unload(request: gr.Request) -> None:
    """The student closed the tab (or reloaded): stop their run and delete their files."""
    forget_session(session_of(request))


def build_train_tab(session_models: gr.State, picker: gr.Dropdown, tabs: gr.Tabs) -> None:
    """Lay out the Train tab inside the current Blocks and wire its events."""
    runs_state = gr.State(())
    offer_state = gr.State(None)
    typed = gr.State({})  # the sliders' values as the last settings check saw them (moved_into_range)
    problems = {}
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            preset = gr.Radio(SEED_BATCH_SIZES, value=100, label="Batch size (the seed's choices)",
                              elem_id="batch-preset")
            batch = gr.Number(100, label="Batch size (any 1–60000)", elem_id="batch-size")
            problems["batch_size"] = gr.Markdown(elem_id="batch-size-problem", elem_classes="field-problem")
            epochs = LenientSlider(1, 50, value=3, step=1, label="Epochs", elem_id="epochs")
            problems["epochs"] = gr.Markdown(elem_id="epochs-problem", elem_classes="field-problem")
            lr = gr.Number(0.001, label="Learning rate (Adam)", elem_id="lr")
            problems["lr"] = gr.Markdown(elem_id="lr-problem", elem_classes="field-problem")
            model = gr.Dropdown(sorted(MODELS), value="lenet", label="Model", elem_id="train-model")
            problems["model"] = gr.Markdown(elem_id="train-model-problem", elem_classes="field-problem")
            seed = gr.Number(0, label="Seed", elem_id="seed")
            problems["seed"] = gr.Markdown(elem_id="seed-problem", elem_classes="field-problem")
            n_images = LenientSlider(1000, 60000, value=60000, step=1000, label="Training images (stratified subset)",
                                     elem_id="n-images")
            problems["images"] = gr.Markdown(elem_id="n-images-problem", elem_classes="field-problem")
            augment = gr.Checkbox(False, label="Sketch-style augmentation: half of each batch redrawn as outlines "
                                               "and silhouettes, so the model learns what drawings look like",
                                  elem_id="augment")
            augment_preview = gr.Plot(format="png", label="What the augmentation does", show_label=False, visible=False,
                                      elem_id="augment-preview")
            cost = gr.Markdown(cost_text(TrainConfig(epochs=3, log_every=log_every(100))), elem_id="train-estimate")
            with gr.Row():
                start = gr.Button("Start training", variant="primary", elem_id="start")
                stop = gr.Button("Stop", variant="stop", elem_id="stop", interactive=False)  # until a run starts
            stop_note = gr.Markdown(elem_id="stop-note")
            sweep = gr.Button("Run the seed's experiment: batch 32, 64, 100 and 256 in turn", elem_id="sweep")
            nickname, problems["nickname"] = nickname_box()
            with gr.Accordion("What do these settings do?", open=False, elem_id="explain"):
                gr.Markdown(EXPLAIN)
        with gr.Column(scale=3, elem_id="train-run"):
            status = gr.Markdown(READY_TEXT, elem_id="train-status")
            use_button = gr.Button("Use it for drawing", visible=False, variant="secondary", elem_id="use-model")
            with gr.Row():
                loss_plot = gr.Plot(format="png", label="Training loss", show_label=False, elem_id="loss-plot",
                                    visible=False)
                acc_plot = gr.Plot(format="png", label="Test accuracy", show_label=False, elem_id="acc-plot",
                                   visible=False)
            samples = gr.Plot(format="png", label="Sample test images: predicted vs correct (wrong in red)", show_label=False,
                              elem_id="samples", visible=False)
            filters = gr.Plot(format="png", label="What the first layer has learned", show_label=False, elem_id="filters",
                              visible=False)
            results = gr.Dataframe(results_frame([]), label="This session's runs", interactive=False,
                                   elem_id="results")
            per_class_plot = gr.Plot(format="png", label="Per-class test accuracy", show_label=False,
                                     elem_id="per-class", visible=False)
            confusion = gr.Plot(label="Confusion matrix", show_label=False, format="png", elem_id="confusion",
                                visible=False)
            mistakes = gr.Plot(format="png", label="The test images it got wrong most confidently", show_label=False,
                               elem_id="mistakes", visible=False)
            checkpoint_file = gr.File(label="Download the trained checkpoint", elem_id="checkpoint", visible=False)
    settings = {"batch_size": batch, "epochs": epochs, "lr": lr, "model": model, "seed": seed, "images": n_images,
                "augment": augment, "nickname": nickname}
    outputs = {"status": status, "loss_plot": loss_plot, "acc_plot": acc_plot, "samples": samples,
               "results": results, "per_class_plot": per_class_plot, "confusion": confusion, "mistakes": mistakes,
               "filters": filters, "checkpoint_file": checkpoint_file, "runs_state": runs_state,
               "models_state": session_models, "model_picker": picker, "offer_state": offer_state,
               "use_button": use_button, "cost": cost, "stop_note": stop_note, **{f"problem:{k}": box for k, box in problems.items()}}
    form = {*settings.values(), runs_state, session_models}

    def read_form(values: dict):
        """The form's values -> (TrainConfig or None, the updates that show each field's problem and the cost)."""
        cfg, found = settings_problems({key: values[c] for key, c in settings.items()})
        shown = {f"problem:{k}": (f"⚠️ {found[k]}" if k in found else "") for k in problems}
        return cfg, {**shown, "cost": cost_text(cfg)}

    def check_settings(values: dict):
        _, shown = read_form(values)
        before = values[typed] or {}
        now = {key: values[c] for key, c in settings.items() if isinstance(c, LenientSlider)}
        for key, value in now.items():
            shown[f"problem:{key}"] = shown[f"problem:{key}"] or moved_into_range(key, before.get(key), value)
        return {outputs[k]: v for k, v in shown.items()} | {typed: now}

    def run_handler(session_fn):
        """A Start handler: check the form, then stream session_fn's updates under a fresh stop token."""
        def handler(values: dict, request: gr.Request):
            # The notes next to the fields and the cost are the form's own (check_settings, on every change, outside
            # the queue): a Start answered late under load must not put back a note the student has fixed since.
            cfg, _ = read_form(values)
            if cfg is None:
                yield {status: "❌ Some settings need fixing first: see the notes in red next to them."}
                return
            session = Session(session_of(request), tuple(values[runs_state] or ()), dict(values[session_models] or {}),
                              check_nickname(values[nickname]))
            token = stopping.new_token(session.id)
            if token is None:  # a second Start (another tab's form, or the API) while the first still runs
                yield {stop_note: BUSY_TEXT}
                return
            try:
                yield {stop_note: ""} | buttons(busy=True)
                for update in session_fn(cfg, session, token):
                    yield {outputs[k]: revealed(k, v) for k, v in update.items()}
            finally:
                stopping.release(session.id, token)
        return handler

    def buttons(busy: bool) -> dict:
        """Start and the seed's experiment while nothing of the session's runs; Stop while something does."""
        return {start: gr.update(interactive=not busy), sweep: gr.update(interactive=not busy),
                stop: gr.update(interactive=busy)}

    def after_request(request: gr.Request):
        """When a Start or the seed's experiment has ended: the buttons as the session now is (a request refused
        while another ran leaves them as that one set them), and no stale "Stop requested" under Stop."""
        busy = stopping.active(session_of(request))
        return buttons(busy) | {stop_note: gr.update() if busy else ""}

    def use_offered(name: str | None):
        """Pick the offered model in the Predict tab and go there."""
        if not name:
            return gr.update(), gr.update()
        return gr.update(value=name), gr.Tabs(selected="predict")

    # In the browser, not a round trip to the server: a student who picks a preset and presses Start at once must get
    # the preset's batch size, not the old one (a server-side copy could still be on its way when Start read the form).
    preset.change(None, [preset, batch], batch, js="(p, b) => p == null ? b : p", show_progress="hidden", queue=False,
                  api_visibility="private")
    # and the other way: a batch size typed in picks its preset, or none (the seed's 100 stayed picked over a typed 32)
    batch.change(None, batch, preset, js=f"(b) => {SEED_BATCH_SIZES}.includes(Number(b)) ? Number(b) : null",
                 show_progress="hidden", queue=False, api_visibility="private")
    for component in settings.values():
        component.change(check_settings, form | {typed}, [*outputs.values(), typed], show_progress="hidden",
                         queue=False, api_visibility="private")
    for trigger in (augment.change, seed.change):
        trigger(augmentation_preview, [augment, seed], augment_preview, show_progress="hidden",
                api_visibility="private")
    # Runs waiting for a slot wait inside the handler (told their place), so Gradio's own limit is larger.
    limit = serving.MAX_TRAININGS + serving.WAITING_ROOM
    for button, session_fn, name in ((start, train_session, "train"), (sweep, sweep_session, "sweep")):
        button.click(run_handler(session_fn), form, [*outputs.values(), start, sweep, stop], api_name=name,
                     concurrency_id="train", concurrency_limit=limit, show_progress="minimal").then(
            after_request, None, [start, sweep, stop, stop_note], api_visibility="private", queue=False,
            show_progress="hidden")
    stop.click(stop_request, None, stop_note, api_name="stop", queue=False, show_progress="hidden")
    use_button.click(use_offered, offer_state, [picker, tabs], api_visibility="private", show_progress="hidden")
