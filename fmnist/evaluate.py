"""Accuracy, per-class accuracy, confusion matrix and sample predictions on the test set."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from fmnist.checkpoint import make_checkpoint, ready_for_inference
from fmnist.data import CLASS_NAMES, MEAN, STD, FashionMNIST, to_float
from fmnist.sketches import sketch_accuracy, sketch_set


@torch.inference_mode()
def predict_labels(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Predicted class per image of a normalised float batch (N, 1, 28, 28) -> (N,) int64. Batches of 256
    keep the activations in cache, which larger batches do not (timings in README, Performance)."""
    was_training = model.training
    model.eval()
    preds = torch.cat([model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])
    model.train(was_training)
    return preds


@dataclass(frozen=True)
class Evaluation:
    """A model's results on a labelled set."""

    accuracy: float  # fraction correct overall
    per_class_accuracy: dict[str, float]  # class name -> fraction of that class correct
    confusion: list[list[int]]  # confusion[true][predicted], counts
    n: int  # images evaluated

    def as_dict(self) -> dict:
        """Plain JSON-able form (what metrics.json and the checkpoint metadata hold)."""
        return {"accuracy": self.accuracy, "per_class_accuracy": self.per_class_accuracy,
                "confusion": self.confusion, "n": self.n}


def confusion_matrix(labels: torch.Tensor, preds: torch.Tensor, n_classes: int = 10) -> torch.Tensor:
    """(n_classes, n_classes) counts, rows true class, columns predicted class."""
    return torch.bincount(labels.cpu() * n_classes + preds.cpu(), minlength=n_classes**2).reshape(n_classes, n_classes)


def summarize(labels: torch.Tensor, preds: torch.Tensor) -> Evaluation:
    """Overall and per-class accuracy and the confusion matrix from labels and predictions."""
    cm = confusion_matrix(labels, preds)
    per_class = cm.diag().double() / cm.sum(1).clamp(min=1).double()
    return Evaluation(
        accuracy=round(float(cm.diag().sum()) / max(len(labels), 1), 6),
        per_class_accuracy={name: round(float(a), 6) for name, a in zip(CLASS_NAMES, per_class)},
        confusion=cm.tolist(),
        n=len(labels),
    )


@torch.inference_mode()
def confident_mistakes(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, preds: torch.Tensor,
                       k: int = 8) -> list[tuple[int, float]]:
    """The k wrong predictions the model was surest of, surest first: [(index, probability it gave its
    wrong answer)]. Only the mistakes are run through the model again (a tenth of a test-set pass)."""
    wrong = torch.nonzero(preds.cpu() != labels.cpu()).flatten()
    if len(wrong) == 0:
        return []
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    sure = torch.cat([torch.softmax(model(x[part].to(device)), 1).cpu().gather(1, preds[part].cpu().view(-1, 1))
                      .flatten() for part in wrong.split(256)])
    model.train(was_training)
    top = sure.topk(min(k, len(wrong)))
    return [(int(wrong[i]), round(float(p), 4)) for p, i in zip(top.values, top.indices)]


def evaluate(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> tuple[Evaluation, torch.Tensor]:
    """Evaluate on normalised images; also returns the predictions (N,) on the CPU."""
    device = next(model.parameters()).device
    preds = predict_labels(model, x.to(device)).cpu()
    return summarize(labels.cpu(), preds), preds


@dataclass(frozen=True)
class Assessment:
    """What is reported about a freshly trained model (the CLI's files, the app's end of a run)."""

    evaluation: Evaluation
    preds: torch.Tensor  # (N,) test-set predictions on the CPU
    mistakes: list[tuple[int, float]]  # confident_mistakes
    sketch: dict  # sketches.sketch_accuracy: accuracy on drawings, per condition


def assess(model: nn.Module, data: FashionMNIST) -> Assessment:
    """Test-set evaluation and surest mistakes of a trained model, then its accuracy on the sketch set
    measured in the form every prediction uses (`ready_for_inference`, as `evaluate --sketches` loads
    it). Leaves the model in that form."""
    x_test = to_float(data.test_images)
    evaluation, preds = evaluate(model, x_test, data.test_labels)
    mistakes = confident_mistakes(model, x_test, data.test_labels, preds)
    sketch = sketch_accuracy(ready_for_inference(model), {"mean": MEAN, "std": STD}, sketch_set(data))
    return Assessment(evaluation, preds, mistakes, sketch)


# What a checkpoint's metadata keeps of a finished run's metrics (the rest goes to metrics.json).
CHECKPOINT_METRICS = ("accuracy", "per_class_accuracy", "n", "epochs_completed", "train_seconds", "sketch_accuracy",
                      "sketch_balanced_accuracy", "sketch_per_class_accuracy", "sketch_drawn_accuracy")


@dataclass(frozen=True)
class RunReport:
    """A finished (or stopped) run, measured: what the CLI writes and the Train tab shows."""

    assessment: Assessment
    metrics: dict  # JSON-able: test and sketch accuracies, curves, time, device, how it ended
    checkpoint: dict  # fmnist.checkpoint's dict, ready for save_checkpoint


def report_run(model: nn.Module, data: FashionMNIST, config, history: list, train_seconds: float, device: str,
               stopped: str | None = None, started_from: dict | None = None) -> RunReport:
    """Assess a trained model and build its metrics and checkpoint, the same for every caller.
    history: the run's EpochRecords; stopped: why it ended early, or None; started_from: the run's TrainRun.started_from.
    Leaves the model ready for inference."""
    assessment = assess(model, data)
    metrics = {**assessment.evaluation.as_dict(), "epochs_completed": len(history),
               "train_seconds": round(train_seconds, 2), "epoch_test_acc": [r.test_acc for r in history],
               "epoch_loss": [r.loss for r in history], "device": device, "stopped_early": stopped,
               "sketch_accuracy": {k: r["accuracy"] for k, r in assessment.sketch.items()},
               "sketch_balanced_accuracy": {k: r["balanced_accuracy"] for k, r in assessment.sketch.items()},
               "sketch_per_class_accuracy": {k: r["per_class_accuracy"] for k, r in assessment.sketch.items()},
               "sketch_drawn_accuracy": {k: r["drawn_accuracy"] for k, r in assessment.sketch.items() if r["drawn_n"]}}
    extra = {"trained_on": data.source, "device": device}
    if started_from is not None:  # a run that went on from a checkpoint records that checkpoint's own recipe
        extra["started_from"] = started_from
    checkpoint = make_checkpoint(model, config.model, config, metrics={k: metrics[k] for k in CHECKPOINT_METRICS},
                                 extra=extra)
    return RunReport(assessment, metrics, checkpoint)
