"""The Train tab: Adam with a batch size the student picks (or the seed's four in turn), with or without
sketch-style augmentation; streams the loss curve, test accuracy, a grid of sample predictions and a
status line; ends each run with its per-class accuracy, confusion matrix, accuracy on drawings and the
test images it got wrong most confidently; keeps every run of the session for comparison."""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path

import gradio as gr
import pandas as pd
import torch

from demo import serving
from demo.class_tab import nickname_box, record_run, session_nickname
from demo.serving import gpu
from fmnist import report
from fmnist.augment import dataset_silhouettes, preview
from fmnist.checkpoint import make_checkpoint, save_checkpoint
from fmnist.data import CLASS_NAMES, DataFormatError, DataNotFoundError, FashionMNIST, load_fashion_mnist
from fmnist.evaluate import assess
from fmnist.models import MODELS, first_filters
from fmnist.sketches import sketch_set
from fmnist.train import (EpochRecord, StepRecord, TrainConfig, TrainingDiverged, describe_device, prepare_run,
                          train_epochs)

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
PLOT_REFRESH_S = 2.0  # the loss curve is redrawn at most this often (a matplotlib PNG: ~0.1 s of CPU)
# Stop requests by session: set by the Stop button and when the student closes the tab.
_stop_events: dict[str, threading.Event] = {}
_stop_lock = threading.Lock()


def prepare_sketches_meanwhile(data: FashionMNIST) -> None:
    """Build the sketch set in the background while the first run trains, so its end is not delayed."""
    if not sketch_set.ready(data):
        threading.Thread(target=sketch_set, args=(data,), daemon=True, name="sketch-set").start()


@lru_cache(maxsize=1)
def dataset() -> FashionMNIST:
    """The dataset, read once per process (read-only, shared by all sessions).

    FMNIST_DOWNLOAD=1 lets a server with internet (a Hugging Face Space) fetch it with torchvision.
    """
    return load_fashion_mnist(download_missing=os.environ.get("FMNIST_DOWNLOAD") == "1")


def stop_event(session: str) -> threading.Event:
    with _stop_lock:
        return _stop_events.setdefault(session, threading.Event())


def session_of(request: gr.Request | None) -> str:
    """The browser session a request comes from ("local" when called without one, as in tests)."""
    return request.session_hash if request is not None and request.session_hash else "local"


def request_stop(request: gr.Request) -> str:
    """Stop button and page unload: ask this session's run (if any) to stop after the current step."""
    if request is None or request.session_hash is None:
        return ""
    with _stop_lock:
        event = _stop_events.get(request.session_hash)
    if event is None:
        return "Nothing is training."
    event.set()
    return "⏹ Stopping…"


def stop_on_unload(request: gr.Request) -> None:
    """The student closed the tab: stop their run."""
    request_stop(request)


def log_every(batch_size: int) -> int:
    """Steps between records: a few tenths of a second of work, so Stop is felt within a second."""
    return max(1, min(20, 3000 // max(batch_size, 1)))


def curves_plot(runs: list[dict], key: str):
    """Every run of the session on one figure: the loss ("loss") or test accuracy ("acc") curves.
    (matplotlib, not gr.LinePlot: Gradio 6.31's LinePlot draws only the runs present at its first value.)"""
    curves = {run["name"]: tuple(zip(*run[key])) for run in runs if run[key]}
    if key == "loss":
        return report.curves_figure(curves, "loss (running mean)", "Training loss")
    return report.curves_figure(curves, "test accuracy %", "Test accuracy")


def filters_plot(model, when: str):
    """What the first conv layer has learned so far, `when` saying at which point of the run."""
    return report.filters_figure(first_filters(model), when)


def augmentation_preview(augment: bool, seed):
    """Shown while the augmentation box is ticked: eight training images (picked by the seed) and what
    sketch-style augmentation turns them into; hidden when it is off or the server has no data."""
    if not augment:
        return gr.update(visible=False)
    try:
        data = dataset()
        seed = abs(_whole("seed", seed)) % 2**63
    except (DataNotFoundError, DataFormatError, ValueError):
        return gr.update(visible=False)
    idx = torch.randperm(len(data.train_labels), generator=torch.Generator().manual_seed(seed))[:8]
    images = data.train_images[idx]
    figure = report.augmentation_figure(images.numpy(), preview(images, seed).numpy(), data.train_labels[idx].tolist())
    return gr.update(value=figure, visible=True)


def results_frame(runs: list[dict]) -> pd.DataFrame:
    rows = [[r["name"], r["batch_size"], r["epochs_done"], r["lr"], round(r["accuracy"] * 100, 2),
             round(r["sketch"]["outline"] * 100, 1), round(r["sketch"]["filled"] * 100, 1),
             round(r["seconds"], 1), r["status"]] for r in runs if "accuracy" in r]
    return pd.DataFrame(rows, columns=["run", "batch size", "epochs", "lr", "test acc %", "outlines %", "filled %",
                                       "time s", "status"])


def status_line(rec, cfg: TrainConfig, device: str) -> str:
    done = rec.step / rec.total_steps
    left = rec.elapsed_s * (1 - done) / done if done > 0 else math.nan
    speed = f" · {rec.images_per_s:,.0f} img/s" if isinstance(rec, StepRecord) else ""
    acc = f" · test accuracy {rec.test_acc * 100:.2f} %" if isinstance(rec, EpochRecord) else ""
    return (f"**Epoch {rec.epoch}/{cfg.epochs}** · step {rec.step:,}/{rec.total_steps:,}{speed}{acc} · "
            f"~{left:,.0f} s left · {device}")


def train_session(batch_size, epochs, lr, model_name, seed, n_images, runs, session_models, session: str,
                  shipped: list[str], augment: bool = False, stop: threading.Event | None = None):
    """Validate, train with streamed updates, then report and register the model (augment: the
    sketch-style augmentation of `fmnist.augment`, which teaches a model what drawings look like;
    stop: a sweep's own stop event, which outlives this run).

    Yields {output name: value} dicts; the Start handler maps names to components.
    """
    try:
        batch, images = _whole("batch size", batch_size), _whole("training images", n_images)
        cfg = TrainConfig(model=model_name, batch_size=batch, epochs=_whole("epochs", epochs),
                          lr=_number("learning rate", lr), seed=_whole("seed", seed),
                          subset=None if images >= 60000 else images, log_every=log_every(batch),
                          augment=bool(augment))
    except ValueError as err:
        yield {"status": f"❌ {err}"}
        return
    try:
        data = dataset()
    except (DataNotFoundError, DataFormatError) as err:
        yield {"status": "❌ Training needs the Fashion-MNIST files on the server.\n\n```\n" + str(err) + "\n```"}
        return
    prepare_sketches_meanwhile(data)
    own_stop = stop is None
    if own_stop:
        stop = stop_event(session)
        stop.clear()
    runs = list(runs or [])
    run_info = {"name": f"#{len(runs) + 1} {cfg.model} bs{cfg.batch_size}{' aug' if cfg.augment else ''}",
                "batch_size": cfg.batch_size,
                "lr": cfg.lr, "loss": [], "acc": [], "epochs_done": 0, "seconds": 0.0, "status": "running"}
    runs.append(run_info)
    try:
        yield from _stream(cfg, data, run_info, runs, dict(session_models or {}), stop, shipped)
    finally:
        if own_stop:
            release_stop(session, stop)


def sweep_session(epochs, lr, model_name, seed, n_images, runs, session_models, session: str, shipped: list[str],
                  augment: bool = False):
    """The seed's experiment in the browser: one run per batch size of SEED_BATCH_SIZES, in turn, with the
    other settings shared. Stop (or a run that fails or is refused) ends the whole sweep."""
    stop = stop_event(session)
    stop.clear()
    try:
        for batch_size, next_size in zip(SEED_BATCH_SIZES, [*SEED_BATCH_SIZES[1:], None]):
            before, status = len(runs or []), ""
            for update in train_session(batch_size, epochs, lr, model_name, seed, n_images, runs, session_models,
                                        session, shipped, augment, stop):
                runs = update.get("runs_state", runs)
                session_models = update.get("models_state", session_models)
                status = update.get("status", status)
                yield update
            if len(runs or []) == before or runs[-1]["status"] != "finished":
                return  # refused, stopped mid-run or diverged: its own message says so
            if stop.is_set() and next_size is not None:
                yield {"status": f"⏹ The seed's experiment was stopped before batch size {next_size}. {status}"}
                return
    finally:
        release_stop(session, stop)


def release_stop(session: str, stop: threading.Event) -> None:
    """Forget a session's stop event once its run (or sweep) is over."""
    with _stop_lock:
        if _stop_events.get(session) is stop:
            del _stop_events[session]


def _number(name: str, x) -> float:
    """A widget or API value as a finite float, or a ValueError naming the field."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {x!r}") from None
    if isinstance(x, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {x!r}")
    return value


def _whole(name: str, x) -> int:
    """A widget or API value as an int, or a ValueError naming the field (2.5, NaN, "ten" refused)."""
    value = _number(name, x)
    if value != int(value):
        raise ValueError(f"{name} must be a whole number, got {x!r}")
    return int(value)


@gpu
def _stream(cfg: TrainConfig, data: FashionMNIST, run_info: dict, runs: list[dict], session_models: dict,
            stop: threading.Event, shipped: list[str]):
    run = prepare_run(cfg)
    device = describe_device(run.device)
    steps_per_epoch = None
    last = last_plot = 0.0
    deadline = time.monotonic() + serving.MAX_TRAIN_MINUTES * 60
    starting = f"Starting {run_info['name']} on {device}…"
    if cfg.augment and not dataset_silhouettes.ready(data.train_images):
        starting += (" First, for the sketch-style augmentation, the silhouettes of all training images: "
                     "once per server, about half a minute.")
    yield {"status": starting, "results": results_frame(runs),
           "filters": filters_plot(run.model, "at the start (random)")}
    outcome = "finished"
    try:
        for rec in train_epochs(run, data):
            steps_per_epoch = steps_per_epoch or rec.total_steps // cfg.epochs
            if isinstance(rec, StepRecord):
                run_info["loss"].append((rec.step / steps_per_epoch, rec.loss))
            else:
                run_info["acc"].append((rec.epoch, rec.test_acc * 100))
                run_info["epochs_done"] = rec.epoch
            run_info["seconds"] = rec.elapsed_s
            if stop.is_set():
                outcome = "stopped"
                break
            now = time.monotonic()
            if now > deadline:
                outcome = (f"time limit: this server stops a run after {serving.MAX_TRAIN_MINUTES:g} minutes "
                           "(FMNIST_MAX_TRAIN_MINUTES); the model so far is kept")
                break
            update = {}
            if isinstance(rec, EpochRecord):
                ids = run.sample_indices
                update["samples"] = report.samples_figure(
                    data.test_images.numpy()[ids], data.test_labels[ids].tolist(), rec.sample_preds, cols=8,
                    title=f"Sample test images after epoch {rec.epoch}: predicted vs correct (wrong in red)")
                update["acc_plot"] = curves_plot(runs, "acc")
                update["filters"] = filters_plot(run.model, f"after epoch {rec.epoch}")
            if update or now - last_plot >= PLOT_REFRESH_S:
                update["loss_plot"] = curves_plot(runs, "loss")
                last_plot = now
            if update or now - last >= REFRESH_S:
                update["status"] = status_line(rec, cfg, device)
                last = now
                yield update
    except TrainingDiverged as err:
        outcome = f"diverged: {err}"
    yield from _finish(cfg, data, run, device, run_info, runs, session_models, outcome, shipped)


def _finish(cfg, data, run, device, run_info, runs, session_models, outcome, shipped):
    """Evaluate whatever the model is now, save its checkpoint and offer it in the Predict tab."""
    yield {"status": f"Measuring {run_info['name']} on the test set and on drawings…"}
    assessment = assess(run.model, data)  # leaves run.model ready for inference
    evaluation, preds, mistakes, model = assessment.evaluation, assessment.preds, assessment.mistakes, run.model
    sketch = {k: r["accuracy"] for k, r in assessment.sketch.items()}
    # The model kept after a stop mid-epoch gets its own point on the accuracy curve (a lone first-epoch
    # point would draw no line at all).
    reached = run_info["loss"][-1][0] if run_info["loss"] else 0.0
    if not run_info["acc"] or reached > run_info["acc"][-1][0]:
        run_info["acc"].append((round(reached, 3), evaluation.accuracy * 100))
    run_info.update(accuracy=evaluation.accuracy, sketch=sketch,
                    status=outcome if outcome == "finished" else outcome.split(":")[0])
    name = f"{run_info['name']} ({evaluation.accuracy * 100:.1f} %)"
    metrics = {"accuracy": evaluation.accuracy, "per_class_accuracy": evaluation.per_class_accuracy,
               "n": evaluation.n, "epochs_completed": run_info["epochs_done"],
               "train_seconds": round(run_info["seconds"], 1), "sketch_accuracy": sketch}
    record_run(model=cfg.model, batch_size=cfg.batch_size, epochs=cfg.epochs, lr=cfg.lr, seed=cfg.seed,
               train_images=min(cfg.subset or len(data.train_labels), len(data.train_labels)), augment=cfg.augment,
               device=device, train_seconds=run_info["seconds"], metrics=metrics, outcome=outcome,
               loss_curve=[r.loss for r in run.history], acc_curve=[r.test_acc for r in run.history],
               nickname=session_nickname())  # the class board (demo.class_tab); never fails the run
    ckpt = make_checkpoint(run.model, cfg.model, cfg, metrics=metrics, extra={"trained_on": data.source,
                                                                             "device": device})
    folder = Path(tempfile.mkdtemp(prefix="fmnist-run-"))
    path = save_checkpoint(ckpt, folder / f"{cfg.model}-bs{cfg.batch_size}-acc{evaluation.accuracy * 100:.1f}.pt")
    session_models = {**session_models, name: (model, {k: v for k, v in ckpt.items() if k != "state_dict"})}
    per_class = pd.DataFrame({"class": list(CLASS_NAMES),
                              "accuracy %": [a * 100 for a in evaluation.per_class_accuracy.values()]})
    headline = {"finished": "✅ Finished", "stopped": "⏹ Stopped early"}.get(outcome, f"⚠️ Stopped, {outcome}")
    yield {
        "status": f"{headline}: **{name}** after {run_info['epochs_done']} epoch(s), {run_info['seconds']:.0f} s on "
                f"{device}; drawings: outlines {sketch['outline'] * 100:.0f} %, filled {sketch['filled'] * 100:.0f} %. "
                "It is now selectable in the Predict tab (for you only): try drawing for it.",
        "loss_plot": curves_plot(runs, "loss"),
        "acc_plot": curves_plot(runs, "acc"),
        "results": results_frame(runs),
        "per_class_plot": per_class,
        "confusion": report.confusion_figure(evaluation.confusion),
        "mistakes": report.mistakes_figure(data.test_images.numpy(), data.test_labels, preds, mistakes, cols=8),
        "filters": filters_plot(run.model, f"after {run_info['name']}'s training"),
        "checkpoint_file": str(path),
        "runs_state": runs,
        "models_state": session_models,
        "model_picker": gr.update(choices=[*shipped, *session_models], value=name),
    }


def build_train_tab(session_models: gr.State, picker: gr.Dropdown, shipped: list[str]) -> None:
    """Lay out the Train tab inside the current Blocks and wire its events."""
    runs_state = gr.State([])
    max_trainings = serving.MAX_TRAININGS
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            preset = gr.Radio(SEED_BATCH_SIZES, value=100, label="Batch size (the seed's choices)",
                              elem_id="batch-preset")
            batch = gr.Number(100, precision=0, minimum=1, maximum=60000, label="Batch size (any 1–60000)",
                              elem_id="batch-size")
            epochs = gr.Slider(1, 50, value=3, step=1, label="Epochs", elem_id="epochs")
            lr = gr.Number(0.001, label="Learning rate (Adam)", minimum=1e-6, maximum=1, elem_id="lr")
            model = gr.Dropdown(sorted(MODELS), value="lenet", label="Model", elem_id="train-model")
            seed = gr.Number(0, precision=0, minimum=0, label="Seed", elem_id="seed")
            n_images = gr.Slider(1000, 60000, value=60000, step=1000, label="Training images (stratified subset)",
                                 elem_id="n-images")
            augment = gr.Checkbox(False, label="Sketch-style augmentation: half of each batch redrawn as outlines "
                                               "and silhouettes, so the model learns what drawings look like",
                                  elem_id="augment")
            augment_preview = gr.Plot(label="What the augmentation does", show_label=False, visible=False,
                                      elem_id="augment-preview")
            with gr.Row():
                start = gr.Button("Start training", variant="primary", elem_id="start")
                stop = gr.Button("Stop", variant="stop", elem_id="stop")
            sweep = gr.Button("Run the seed's experiment: batch 32, 64, 100 and 256 in turn", elem_id="sweep")
            nickname_box()  # demo.class_tab: the student's name on the class board
            with gr.Accordion("What do these settings do?", open=False, elem_id="explain"):
                gr.Markdown(EXPLAIN)
        with gr.Column(scale=3):
            status = gr.Markdown("Pick a batch size and press **Start training**.", elem_id="train-status")
            with gr.Row():
                loss_plot = gr.Plot(label="Training loss", show_label=False, elem_id="loss-plot")
                acc_plot = gr.Plot(label="Test accuracy", show_label=False, elem_id="acc-plot")
            samples = gr.Plot(label="Sample test images: predicted vs correct (wrong in red)", show_label=False,
                              elem_id="samples")
            filters = gr.Plot(label="What the first layer has learned", show_label=False, elem_id="filters")
            results = gr.Dataframe(results_frame([]), label="This session's runs", interactive=False,
                                   elem_id="results")
            with gr.Row():
                per_class_plot = gr.BarPlot(x="class", y="accuracy %", title="Per-class test accuracy",
                                            sort=list(CLASS_NAMES), x_label_angle=-40,
                                            y_lim=[0, 100], height=300, elem_id="per-class")
                confusion = gr.Plot(label="Confusion matrix", elem_id="confusion")
            mistakes = gr.Plot(label="The test images it got wrong most confidently", show_label=False,
                               elem_id="mistakes")
            checkpoint_file = gr.File(label="Download the trained checkpoint", elem_id="checkpoint")
    outputs = {"status": status, "loss_plot": loss_plot, "acc_plot": acc_plot, "samples": samples,
               "results": results, "per_class_plot": per_class_plot, "confusion": confusion, "mistakes": mistakes,
               "filters": filters, "checkpoint_file": checkpoint_file, "runs_state": runs_state,
               "models_state": session_models, "model_picker": picker}

    def start_training(batch_size, epochs, lr, model_name, seed, n_images, augment, runs, models,
                       request: gr.Request):
        session = session_of(request)
        for update in train_session(batch_size, epochs, lr, model_name, seed, n_images, runs, models, session,
                                    shipped, augment):
            yield {outputs[k]: v for k, v in update.items()}

    def start_sweep(epochs, lr, model_name, seed, n_images, augment, runs, models, request: gr.Request):
        session = session_of(request)
        for update in sweep_session(epochs, lr, model_name, seed, n_images, runs, models, session, shipped,
                                    augment):
            yield {outputs[k]: v for k, v in update.items()}

    preset.change(lambda b: b, preset, batch, show_progress="hidden", queue=False, api_visibility="private")
    for trigger in (augment.change, seed.change):
        trigger(augmentation_preview, [augment, seed], augment_preview, show_progress="hidden",
                api_visibility="private")
    start.click(start_training, [batch, epochs, lr, model, seed, n_images, augment, runs_state, session_models],
                list(outputs.values()),
                api_name="train", concurrency_id="train", concurrency_limit=max_trainings, show_progress="minimal")
    sweep.click(start_sweep, [epochs, lr, model, seed, n_images, augment, runs_state, session_models],
                list(outputs.values()), api_name="sweep", concurrency_id="train", concurrency_limit=max_trainings,
                show_progress="minimal")
    stop.click(request_stop, None, status, api_name="stop", queue=False, show_progress="hidden")
