"""The command line: `python -m fmnist train|sweep|evaluate|predict|bench|runs`. It turns the library's
records into progress bars, printed reports and files."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from fmnist import board as class_board
from fmnist import report
from fmnist.augment import HAND_VARIANTS
from fmnist.checkpoint import (RESUME_FILE, CheckpointError, clean_stale_temp_files, load_checkpoint, load_resume_state,
                               save_checkpoint, save_resume_state)
from fmnist.data import CLASS_NAMES, DataFormatError, DataNotFoundError, load_fashion_mnist, to_float
from fmnist.evaluate import evaluate, report_run
from fmnist.garments import DOODLES
from fmnist.models import MODELS, STAGES, FashionCNN, count_parameters, describe_options, first_filters
from fmnist.predict import predict_proba, to_input, top_classes
from fmnist.collected import CollectionError, collected_accuracy, collection_folder, load_collection
from fmnist.photos import photo_accuracy
from fmnist.sketches import BALANCED, check_draws, sketch_accuracy, sketch_draws, sketch_set, verdict_figures
from fmnist.preprocess import BlankImageError, ImageError, preprocess_image
from fmnist.train import (EpochRecord, StepRecord, TrainConfig, TrainingDiverged, bf16_warning, describe_device,
                          ResumeError, pick_device, prepare_run, resume_config, resume_run, train_epochs,
                          tune_allocator)


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a host shutting down, a Space restarting) during training: stopped like Ctrl-C."""


INTERRUPTED, TERMINATED = "interrupted by the user", "terminated (SIGTERM)"


def _config(args: argparse.Namespace, batch_size: int) -> TrainConfig:
    try:
        return TrainConfig(model=args.model, batch_size=batch_size, epochs=args.epochs, lr=args.lr,
                           seed=args.seed, device=args.device, subset=args.subset, augment=args.augment,
                           cosine=args.cosine, label_smoothing=args.label_smoothing, drawings=args.drawings,
                           erase=args.erase, shapes=args.shapes, garments=args.garments, doodles=args.doodles,
                           pen_shapes=args.pen_shapes, pen_variants=args.pen_variants,
                           garments_per_class=args.garments_per_class, colour_strokes=args.colour_strokes,
                           patterns=args.patterns, rub_details=args.rub_details,
                           extra_styles=args.extra_styles,
                           init=args.init, ema=args.ema, width=args.width, stages=args.stages, bf16=args.bf16)
    except ValueError as err:
        raise UserError(str(err)) from None


def _load_data(args: argparse.Namespace):
    try:
        return load_fashion_mnist(args.data_dir, download_missing=args.download)
    except (DataNotFoundError, DataFormatError) as err:
        raise UserError(str(err)) from None


def run_training(config: TrainConfig, data, out: Path, quiet: bool = False, resume: dict | None = None) -> dict:
    """Train one run with a progress bar, print the seed-style report and write the run's files. After every epoch
    but the last, the run's progress is saved to out/resume.pt (removed when it finishes); with resume (that file's
    contents), go on from there."""
    try:
        run = resume_run(resume) if resume is not None else prepare_run(config)
    except ValueError as err:
        raise UserError(str(err)) from None
    device = describe_device(run.device)
    print(f"device: {device}")
    if config.bf16:
        from fmnist.bench import bf16_measured_warning  # as cmd_bench: the timing code loads only when it is used

        warning = bf16_warning(run.device) or bf16_measured_warning(config.model, config.model_options(),
                                                                    config.batch_size, run.device)
        if warning:
            print(warning, flush=True)
    shape = "".join(f", {part}" for part in (describe_options(config.model_options()), "bfloat16" if config.bf16 else "")
                    if part)
    print(f"model: {config.model} ({count_parameters(run.model):,} parameters{shape}), batch size {config.batch_size}, "
          f"{config.epochs} epochs, lr {config.lr}, seed {config.seed}; data: {data.source}")
    if config.shapes:
        print("shapes: every training image is its filled silhouette or its outline, never the photo; the test accuracy "
              "below is still on photos, so score the shapes with `evaluate ... --sketches`", flush=True)
    if config.drawings:
        print(f"drawings: making {HAND_VARIANTS} hand-drawn renderings of each training image first "
              f"(about 3 ms each on one core: a few minutes)", flush=True)
    if config.garments:
        print(f"garments: drawing {10 * config.garments_per_class:,} procedural garments first (about 1 ms each on one "
              f"core)", flush=True)
    if config.pen_shapes:
        print(f"pen shapes: drawing each training image's silhouette {config.pen_variants} times, filled and traced, "
              f"first (about 1 ms each on one core: {config.pen_variants // 2} minute(s))", flush=True)
    if config.init:
        print(f"init: starting from the weights of {config.init}", flush=True)
    if config.doodles:
        print(f"doodles: drawing {DOODLES:,} doodles of no garment first (about 1 ms each on one core)", flush=True)
    curve_x: list[float] = list(resume["curve_x"]) if resume else []
    curve_y: list[float] = list(resume["curve_y"]) if resume else []
    before = resume["seconds"] if resume else 0.0  # the seconds of the run's earlier sittings
    if resume:
        print(f"resume: going on after epoch {resume['epoch']} of {config.epochs} ({before / 60:.0f} min so far)",
              flush=True)
    print(f"progress: saved to {out / RESUME_FILE} after every epoch; if the run stops, go on with "
          f"`python -m fmnist train --resume {out}`", flush=True)
    stopped, start = None, time.perf_counter()
    steps_per_epoch, unsaved = None, None
    saved_epoch = resume["epoch"] if resume else None  # the epoch out/resume.pt holds
    bar = tqdm(total=None, unit="step", disable=quiet, dynamic_ncols=True, leave=False)
    previous_term = signal.signal(signal.SIGTERM, _terminate)
    try:
        for rec in train_epochs(run, data, resume=resume):
            if bar.total is None:
                bar.total = rec.total_steps
                steps_per_epoch = rec.total_steps // config.epochs
            if isinstance(rec, StepRecord):
                bar.update(rec.step - bar.n)
                bar.set_postfix(epoch=rec.epoch, loss=f"{rec.loss:.4f}", img_s=f"{rec.images_per_s:,.0f}")
                curve_x.append(rec.step / steps_per_epoch)
                curve_y.append(rec.loss)
            elif isinstance(rec, EpochRecord):
                tqdm.write(f"epoch {rec.epoch:3d}/{config.epochs}  loss {rec.loss:.4f}  "
                           f"test accuracy {rec.test_acc * 100:.2f} %  ({rec.epoch_s:.1f} s)")
                if run.resume_state is not None:
                    try:
                        save_resume_state({**run.resume_state(), "curve_x": curve_x, "curve_y": curve_y,
                                           "seconds": before + time.perf_counter() - start}, out)
                        saved_epoch = rec.epoch
                    except CheckpointError as err:  # a full disk: the run goes on, it just cannot be resumed
                        if unsaved is None:
                            tqdm.write(f"warning: {err}; training goes on without it")
                        unsaved = err
    except KeyboardInterrupt as err:
        stopped = TERMINATED if isinstance(err, Terminated) else INTERRUPTED
    except TrainingDiverged as err:
        stopped = str(err)
    except ResumeError as err:  # the saved run does not fit this data: refused before any training
        raise UserError(f"--resume {out}: {err}") from None
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        bar.close()
    seconds = before + time.perf_counter() - start
    saved = out / RESUME_FILE
    # Kept when the run was stopped; otherwise removed once model.pt is written (a run killed while it is being scored
    # still goes on from its last epoch): a diverged run would diverge again the same way, a finished one is done.
    keep_progress = stopped in (INTERRUPTED, TERMINATED)
    if keep_progress and saved_epoch is not None:
        print(f"stopped early: {stopped}; reporting the model as it is. Its progress after epoch {saved_epoch} is "
              f"saved: go on with `python -m fmnist train --resume {out}`")
    elif stopped:
        print(f"stopped early: {stopped}; reporting the model as it is")

    result = report_run(run.model, data, config, run.history, seconds, device, stopped, run.started_from)
    evaluation, preds, mistakes, metrics = (result.assessment.evaluation, result.assessment.preds,
                                            result.assessment.mistakes, result.metrics)
    sample_ids = run.sample_indices[:10]
    samples = [(int(data.test_labels[i]), int(preds[i])) for i in sample_ids]
    config_dict = asdict(config)
    text = report.results_text(evaluation, device, config_dict, metrics["epoch_loss"], seconds, samples)
    text += "sketch-style drawings: " + ", ".join(
        f"{k} {v * 100:.1f} %" for k, v in metrics["sketch_accuracy"].items()) + "\n"
    text += "  of which hand-constructed: " + ", ".join(
        f"{k} {v * 100:.1f} %" for k, v in metrics["sketch_drawn_accuracy"].items()) + "\n"
    balanced = metrics["sketch_balanced_accuracy"]
    text += "class-balanced: " + ", ".join(f"{k} {balanced[k] * 100:.1f} %" for k in BALANCED) + "\n"
    print(text, end="")

    out.mkdir(parents=True, exist_ok=True)
    clean_stale_temp_files(out)  # left by a run killed while saving
    (out / "results.txt").write_text(text)
    report.write_json({"config": config_dict, **metrics}, out / "metrics.json")
    report.curves_figure({f"batch {config.batch_size}": (curve_x, curve_y)}, "cross-entropy loss",
                         "Training loss").savefig(out / "loss.png")
    images = data.test_images.numpy()
    ids16 = run.sample_indices[:16]
    report.samples_figure(images[ids16], [int(data.test_labels[i]) for i in ids16],
                          [int(preds[i]) for i in ids16],
                          title="Test images: predicted vs correct (wrong in red)").savefig(out / "samples.png")
    report.mistakes_figure(images, data.test_labels, preds, mistakes).savefig(out / "mistakes.png")
    report.filters_figure(first_filters(run.model), "after training").savefig(out / "filters.png")
    (out / "samples").mkdir(exist_ok=True)
    for k, i in enumerate(sample_ids):
        report.samples_figure(images[[i]], [int(data.test_labels[i])], [int(preds[i])], cols=1).savefig(
            out / "samples" / f"sample_{k:02d}.png")
    save_checkpoint(result.checkpoint, out / "model.pt")
    if not keep_progress:
        saved.unlink(missing_ok=True)
    print(f"wrote {out}/: results.txt, metrics.json, loss.png, samples.png, samples/, mistakes.png, filters.png, "
          "model.pt")
    return {**metrics, "curve": (curve_x, curve_y)}


def _terminate(signum, frame) -> None:
    raise Terminated()


def cmd_train(args: argparse.Namespace) -> int:
    tune_allocator()
    config = _config(args, args.batch_size)
    resume = None
    if args.resume is not None:
        given = sorted(k for k, v in asdict(config).items() if v != getattr(TrainConfig(), k))
        if given or (args.out is not None and Path(args.out) != Path(args.resume)):
            flags = ", ".join("--" + k.replace("_", "-") for k in given + (["out"] if args.out is not None else []))
            raise UserError(f"--resume goes on with the options the run was started with; leave out {flags}")
        try:
            resume = load_resume_state(args.resume)
            config = resume_config(resume)
        except (CheckpointError, ResumeError) as err:
            raise UserError(str(err)) from None
    if args.nickname is not None and not args.record:
        raise UserError("--nickname is for the class board: add --record")
    if args.record and config.shapes:
        raise UserError("--record: a --shapes run never sees a photo, so its test accuracy is not comparable with "
                        "the class board's runs; leave out --record")
    try:
        nickname = class_board.check_nickname(args.nickname)
    except ValueError as err:
        raise UserError(str(err)) from None
    data = _load_data(args)
    if resume is not None:
        out = Path(args.resume) if Path(args.resume).is_dir() else Path(args.resume).parent
    else:
        out = Path(args.out or f"runs/{config.model}-bs{config.batch_size}-{time.strftime('%Y%m%d-%H%M%S')}")
        if (out / RESUME_FILE).exists():  # a new run there would overwrite an unfinished one's progress
            raise UserError(f"{out} holds an unfinished run: go on with `python -m fmnist train --resume {out}`, "
                            f"or give another --out (or delete {out / RESUME_FILE} to start that folder over)")
    result = run_training(config, data, out, quiet=args.quiet, resume=resume)
    if args.record:
        _record(config, result, len(data.train_labels), nickname, Path(args.db) if args.db else None)
    return 0


def _record(config: TrainConfig, result: dict, n_train: int, nickname: str | None, db: Path | None) -> None:
    """Put a finished CLI run on the class board; a board that is off is a warning, not a failure."""
    stopped = result["stopped_early"]
    outcome = "finished" if stopped is None else "stopped" if stopped in (INTERRUPTED, TERMINATED) else "diverged"
    run = class_board.make_run(model=config.model, batch_size=config.batch_size, epochs=config.epochs, lr=config.lr,
                               train_images=min(config.subset or n_train, n_train), augment=config.augment,
                               seed=config.seed, device=result["device"], train_seconds=result["train_seconds"],
                               metrics=result, loss_curve=result["epoch_loss"], acc_curve=result["epoch_test_acc"],
                               outcome=outcome, nickname=nickname)
    board = class_board.Board(db)
    rowid = board.record(run)
    if rowid is None:
        print(f"warning: not recorded on the class board: {board.problem}", file=sys.stderr)
    else:
        print(f"recorded on the class board {board.path} as run {rowid}")


def cmd_runs(args: argparse.Namespace) -> int:
    path = Path(args.db) if args.db else class_board.db_path()
    if not path.exists():  # reading must not create a board where none was
        raise UserError(f"no class board at {path} yet (record runs with `train --record` or in the app; "
                        "FMNIST_DB or --db names another file)")
    board = class_board.Board(path)
    runs = board.runs()
    if board.problem:
        raise UserError(f"cannot read the class board: {board.problem}")
    if args.csv:
        print(class_board.runs_csv(runs), end="")
        return 0
    finished = sum(r.outcome == "finished" for r in runs)
    print(f"{path}: {len(runs)} run(s), {finished} finished (the table counts finished runs)")
    print(class_board.markdown_table(class_board.table_rows(class_board.class_table(runs))), end="")
    for key, title in (("test", "test accuracy"), ("drawings", "accuracy on drawings")):
        best = class_board.best_runs(runs, key)
        if best:
            print(f"\nbest by {title}:")
        for i, r in enumerate(best, 1):
            drawings = "—" if r.drawings_accuracy is None else f"{r.drawings_accuracy * 100:.1f} %"
            print(f"  {i}. {r.nickname or '(no nickname)'}: {r.model} bs{r.batch_size}, "
                  f"test {r.test_accuracy * 100:.2f} %, "
                  f"drawings {drawings}, {r.epochs_done} epoch(s), {r.when}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    tune_allocator()
    configs = [_config(args, bs) for bs in args.batch_sizes]
    data = _load_data(args)
    out = Path(args.out or f"runs/sweep-{time.strftime('%Y%m%d-%H%M%S')}")
    results = {c.batch_size: run_training(c, data, out / f"bs{c.batch_size}", quiet=args.quiet) for c in configs}
    short = [c.split("/")[0] for c in CLASS_NAMES]
    rows = ["| batch size | test acc | " + " | ".join(short) + " | time |",
            "|---:|---:|" + "---:|" * len(short) + "---:|"]
    for bs, r in results.items():
        per = " | ".join(f"{a * 100:.1f}" for a in r["per_class_accuracy"].values())
        rows.append(f"| {bs} | {r['accuracy'] * 100:.2f} % | {per} | {r['train_seconds']:.0f} s |")
    table = "\n".join(rows) + "\n"
    (out / "sweep.md").write_text(table)
    report.curves_figure({f"batch {bs}": r["curve"] for bs, r in results.items()}, "cross-entropy loss",
                         "Training loss by batch size").savefig(out / "loss_curves.png")
    print(table, end="")
    print(f"wrote {out}/sweep.md and {out}/loss_curves.png")
    return 0


def _load(name: str):
    try:
        return load_checkpoint(name)
    except CheckpointError as err:
        raise UserError(str(err)) from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.draws is not None:
        try:
            check_draws(args.draws)
        except ValueError as err:
            raise UserError(f"--draws: {err}") from None
    collection = None
    if args.collected is not None:
        try:
            args.collected = args.collected or str(collection_folder())
            collection = load_collection(args.collected)
        except CollectionError as err:
            raise UserError(f"--collected: {err}") from None
    model, meta = _load(args.checkpoint)
    norm = meta["normalization"]
    if collection is not None and not args.sketches and args.draws is None and not args.photos:
        try:
            data = _load_data(args)
        except UserError as err:  # a teacher with the app and the class's drawings but not the dataset
            result = {"test_set": f"skipped: {err}", "collected": collected_accuracy(model, norm, collection)}
            if args.json:
                print(json.dumps(result))
            else:
                print(f"{meta['path']}: {meta['arch']}; the test set {result['test_set']}")
                _print_collected(args.collected, result["collected"])
            return 0
    else:
        data = _load_data(args)
    evaluation, _ = evaluate(model, to_float(data.test_images, norm["mean"], norm["std"]), data.test_labels)
    result = {"accuracy": evaluation.accuracy, "per_class_accuracy": evaluation.per_class_accuracy, "n": evaluation.n}
    if args.sketches:
        result["sketch"] = sketch_accuracy(model, norm, sketch_set(data))
        result["verdicts"] = verdict_figures(model, norm, sketch_set(data))
    if args.draws is not None:
        result["sketch_draws"] = sketch_draws(model, norm, data, args.draws)
    if args.photos:
        result["photos"] = photo_accuracy(model, norm, data)
    if collection is not None:
        result["collected"] = collected_accuracy(model, norm, collection)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{meta['path']}: {meta['arch']}, test accuracy {evaluation.accuracy * 100:.2f} % of {evaluation.n}")
    for name, acc in evaluation.per_class_accuracy.items():
        print(f"  {name:12s} {acc * 100:6.2f} %")
    for kind, r in result.get("sketch", {}).items():
        drawn = f"; hand-constructed alone {r['drawn_accuracy'] * 100:.1f} % of {r['drawn_n']}" if r["drawn_n"] else ""
        print(f"sketches, {kind}: {r['accuracy'] * 100:.1f} % of {r['n']}, class-balanced "
              f"{r['balanced_accuracy'] * 100:.1f} %  (" +
              ", ".join(f"{n.split('/')[0]} {a * 100:.0f}" for n, a in r["per_class_accuracy"].items()) + ")" + drawn)
    if "verdicts" in result:
        v = result["verdicts"]
        print(f"verdicts on {v['drawings_n']} drawings (share, right): " + ", ".join(
            f"{k} {d['share'] * 100:.0f} %" + ("" if d["accuracy"] is None else f" {d['accuracy'] * 100:.0f} %")
            for k, d in v["drawings"].items()) + f"; on {v['scribbles_n']} scribbles: " +
            ", ".join(f"{k} {s * 100:.0f} %" for k, s in v["scribbles"].items()))
    if "sketch_draws" in result:
        d = result["sketch_draws"]
        print(f"sketches over {d['draws']} draws of the set (seeds 0-{d['draws'] - 1}), pooled (range over the draws):")
        for kind, r in d["pooled"].items():
            spread = d["per_draw"][kind]
            print(f"  {kind}: {r['accuracy'] * 100:.1f} % of {r['n']} ({_range(spread['accuracy'])}), class-balanced "
                  f"{r['balanced_accuracy'] * 100:.1f} %  (" + ", ".join(
                      f"{n.split('/')[0]} {a * 100:.0f} ({_range(spread['per_class_accuracy'][n])})"
                      for n, a in r["per_class_accuracy"].items()) + ")")
    if "photos" in result:
        r = result["photos"]
        print(f"photos of {r['n']} test images (the same images as they are: {r['images'] * 100:.1f} %):")
        for condition, f in r["conditions"].items():
            print(f"  {condition:12s} {f['accuracy'] * 100:5.1f} %  (" + ", ".join(
                f"{n.split('/')[0]} {a * 100:.0f}" for n, a in f["per_class_accuracy"].items()) + ")")
    if "collected" in result:
        _print_collected(args.collected, result["collected"])
    return 0


def _print_collected(folder: str, r: dict, shown: int = 10) -> None:
    """The collected drawings' figures, the surest mistakes and any file skipped, as text."""
    print(f"people's drawings in {folder}: {r['accuracy'] * 100:.1f} % of {r['n']}, class-balanced "
          f"{r['balanced_accuracy'] * 100:.1f} % over the classes drawn  (" + ", ".join(
              f"{name.split('/')[0]} {round((a or 0) * r['per_class_n'][name])}/{r['per_class_n'][name]}"
              for name, a in r["per_class_accuracy"].items()) + ")")
    for m in r["mistakes"][:shown]:
        said = "nothing to classify" if m["predicted"] is None else f"{m['predicted']} ({m['probability'] * 100:.0f} %)"
        print(f"  wrong: {m['file']}: drawn as {m['label']}, answered {said}")
    if len(r["mistakes"]) > shown:
        print(f"  ... and {len(r['mistakes']) - shown} more wrong (--json lists them all)")
    for s in r["skipped"]:
        print(f"  skipped: {s['file']}: {s['why']}")


def _range(values: list[float]) -> str:
    """Percentages' lowest and highest, as "86-89" (one value: itself)."""
    low, high = round(min(values) * 100), round(max(values) * 100)
    return f"{low}" if low == high else f"{low}-{high}"


def cmd_predict(args: argparse.Namespace) -> int:
    model, meta = _load(args.checkpoint)
    failed = 0
    for path in args.images:
        try:
            probs = predict_proba(model, to_input(preprocess_image(path), meta["normalization"]))[0]
        except (ImageError, BlankImageError) as err:
            failed += 1
            print(json.dumps({"file": path, "error": str(err)}) if args.json else f"{path}: error: {err}")
            continue
        top = [[name, round(p, 4)] for name, p in top_classes(probs, 3)]
        if args.json:
            print(json.dumps({"file": path, "top": top}))
        else:
            print(f"{path}: " + ", ".join(f"{name} {p * 100:.1f} %" for name, p in top))
    return 1 if failed else 0


def cmd_bench(args: argparse.Namespace) -> int:
    from fmnist.bench import run_bench

    tune_allocator()
    try:
        device = pick_device(args.device)
    except ValueError as err:
        raise UserError(str(err)) from None
    result = run_bench(device, _load_data(args), quick=args.quick)
    if args.json:
        print(json.dumps(result))
        return 0
    train = result["training"]
    print(f"device: {result['device']}, torch {result['torch']}, {result['steps_timed']} timed steps per figure")
    print("\ntraining throughput (LeNet, Adam)")
    print("| batch | baseline img/s | ours img/s | speedup | baseline s/epoch | ours s/epoch | ours GFLOP/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for bs, t in sorted(train.items()):
        print(f"| {bs} | {t['baseline_images_per_s']:,} | {t['train_images_per_s']:,} | {t['speedup']}x | "
              f"{t['baseline_epoch_s']} | {t['train_epoch_s']} | {t['train_gflop_per_s']} |")
    if "train_step_ms" in result:
        b = result["train_step_ms"]
        print(f"\nwhere a batch-100 step goes (torch.profiler): {b['total']} ms = convolutions {b['convolutions']} + "
              f"pooling {b['pooling']} + optimizer {b['optimizer']} + rest {b['rest']} ms")
    d = result["default_step_ms"]
    print(f"\nthe default's net (cnn, width 48, 3 stages), one Adam step of a batch of 128: {d['float32_ms']} ms in "
          f"float32, {d['bfloat16_ms']} ms in bfloat16 autocast (its recipe's --bf16 "
          f"{'pays' if d['bfloat16_ms'] < d['float32_ms'] else 'does not pay'} here)")
    if "epoch_s_by_train_size" in result:
        print("\nepoch time (training steps only) by training-set size, batch 100")
        for n, s in result["epoch_s_by_train_size"].items():
            print(f"  {n:6d} images: {s} s")
    print("\nprediction latency in process (preprocessing + forward)")
    for name, p in result["predict"].items():
        print(f"  {name}: p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree for all subcommands."""
    parser = argparse.ArgumentParser(prog="python -m fmnist", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def data_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", help="folder with the idx or CSV files (default: $FMNIST_DATA, ./data, "
                                          "/usr/share/datasets/fashion-mnist)")
        p.add_argument("--download", action="store_true", help="download with torchvision if not found")

    def train_args(p: argparse.ArgumentParser) -> None:
        d = TrainConfig()
        p.add_argument("--model", default=d.model, choices=sorted(MODELS))
        p.add_argument("--epochs", type=int, default=d.epochs)
        p.add_argument("--lr", type=float, default=d.lr)
        p.add_argument("--seed", type=int, default=d.seed)
        p.add_argument("--device", default=d.device, help="auto, cpu, cuda, cuda:N or mps")
        p.add_argument("--subset", type=int, default=None, help="train on a stratified N-image slice")
        p.add_argument("--augment", action="store_true",
                       help="augmentation: mirroring, shifts, sketch-style outlines and silhouettes")
        p.add_argument("--label-smoothing", type=float, default=0.0, help="cross-entropy label smoothing, 0 to <1")
        p.add_argument("--cosine", action="store_true", help="cosine learning-rate schedule down to 0")
        p.add_argument("--drawings", action="store_true",
                       help="hand-drawn renderings of the training images in every batch (fmnist.augment.hand_drawn; "
                            "a few minutes to make, once)")
        p.add_argument("--erase", type=float, default=d.erase,
                       help="with --augment or --drawings: chance a photo gets a random erased rectangle, 0 to 1")
        p.add_argument("--shapes", action="store_true",
                       help="train on the garments' shapes alone (filled silhouettes and outlines, never the photos): "
                            "what a net can tell from shape")
        p.add_argument("--garments", type=float, default=d.garments,
                       help="share of each batch swapped for procedural garment drawings (fmnist.garments), 0 to <1")
        p.add_argument("--doodles", type=float, default=d.doodles,
                       help="share of each batch swapped for doodles of no garment, taught as no class, 0 to <1")
        p.add_argument("--pen-shapes", type=float, default=d.pen_shapes,
                       help="share of each batch swapped for the image's own silhouette, filled or traced, drawn at "
                            "the sketchpad's scale (fmnist.augment.pen_shape), 0 to <1")
        p.add_argument("--pen-variants", type=int, default=d.pen_variants,
                       help=f"pen-shape renderings kept per training image, half filled and half traced, each at its "
                            f"own size, aspect, pen and brightness level (even, 2 to 16; default {d.pen_variants})")
        p.add_argument("--garments-per-class", type=int, default=d.garments_per_class,
                       help=f"procedural garment drawings of each class made for --garments (default "
                            f"{d.garments_per_class:,})")
        p.add_argument("--colour-strokes", type=float, default=d.colour_strokes,
                       help="chance a coloured-in training drawing (--drawings, --garments, --pen-shapes) is coloured "
                            "with back-and-forth strokes, gaps and all, as on the sketchpad, instead of solid, 0 to 1")
        p.add_argument("--patterns", type=float, default=d.patterns,
                       help="chance a --garments top or dress drawn as an outline carries a print (stripes, checks, "
                            "dots or a motif on the chest), 0 to 1")
        p.add_argument("--rub-details", type=float, default=d.rub_details,
                       help="chance a coloured-in --garments coat or shirt has its details (collar, placket, opening, "
                            "lapels) rubbed out wide enough to show at 28x28 instead of left off, 0 to 1")
        p.add_argument("--extra-styles", type=float, default=d.extra_styles,
                       help="chance a --garments sleeveless top is a vest, a sandal is strapped over the whole foot, a "
                            "shirt has checks and a bag is a backpack, 0 to 1")
        p.add_argument("--init", default=None,
                       help="start from this checkpoint's weights (a path or a shipped name: same --model, --width and "
                            "--stages) instead of a random init")
        p.add_argument("--ema", type=float, default=d.ema,
                       help="average the weights with this decay (e.g. 0.999; 0 = off); the run keeps the average")
        p.add_argument("--width", type=int, default=None,
                       help=f"cnn only: channels of its first conv pair, each next pair has twice as many "
                            f"(default {FashionCNN.DEFAULT_WIDTH})")
        p.add_argument("--stages", type=int, default=None,
                       help=f"cnn only: conv pairs, each followed by max-pooling: {' or '.join(map(str, STAGES))} "
                            f"(default {FashionCNN.DEFAULT_STAGES})")
        p.add_argument("--bf16", action="store_true",
                       help="train in bfloat16 autocast (about twice as fast on CPUs with AVX-512 BF16 or AMX, "
                            "slower on others; weights and the final test stay float32)")
        p.add_argument("--out", help="output folder (default runs/...)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        data_args(p)

    p = sub.add_parser("train", help="train one model and write its report and checkpoint")
    p.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    p.add_argument("--record", action="store_true", help="put the run on the class board (FMNIST_DB)")
    p.add_argument("--nickname", help=f"your name on the class board (with --record; at most "
                                      f"{class_board.NICKNAME_MAX} characters)")
    p.add_argument("--db", help="the class board's file (default: $FMNIST_DB or runs/fmnist.sqlite)")
    p.add_argument("--resume", metavar="DIR",
                   help=f"go on with the unfinished run in DIR (its --out folder, which holds {RESUME_FILE}) from "
                        f"after its last whole epoch, with its own options: the same result as if it had not stopped")
    train_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sweep", help="the seed experiment: one run per batch size, compared")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64, 100, 256])
    train_args(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("evaluate", help="test-set accuracy of a checkpoint")
    p.add_argument("checkpoint", help="path, or a shipped name: lenet, cnn, default")
    p.add_argument("--json", action="store_true")
    p.add_argument("--sketches", action="store_true",
                   help="also accuracy on the sketch-style set (outlines and filled drawings of test images)")
    p.add_argument("--draws", type=int, metavar="N",
                   help="also the sketch figures pooled over N draws of the set (seeds 0 to N-1, about 10 s each), "
                        "with their range: how precise one draw's figures are")
    p.add_argument("--photos", action="store_true",
                   help="also accuracy on test images photographed back as a student's upload (fmnist.photos: clean, "
                        "off-white, uneven light, a dark corner, grain, a shadow, a dark table, all at once; 300 each)")
    p.add_argument("--collected", metavar="DIR", nargs="?", const="",
                   help="also accuracy on drawings people made in the app (the Predict tab's \"Add it to the class's "
                        "drawings\"), per class, and its surest mistakes; without DIR the app's own folder "
                        "($FMNIST_DRAWINGS, else /data/drawings on a Space with storage, else runs/drawings)")
    data_args(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="top-3 classes for image files")
    p.add_argument("checkpoint", help="path, or a shipped name: lenet, cnn, default")
    p.add_argument("images", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("bench", help="training throughput and prediction latency against a baseline")
    p.add_argument("--json", action="store_true")
    p.add_argument("--device", default="auto")
    p.add_argument("--quick", action="store_true", help="fewer steps (for tests)")
    data_args(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("runs", help="the class board: the seed's table rebuilt from everyone's recorded runs")
    p.add_argument("--db", help="the class board's file (default: $FMNIST_DB or runs/fmnist.sqlite)")
    p.add_argument("--csv", action="store_true", help="every run as CSV instead of the table")
    p.set_defaults(func=cmd_runs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
