"""The on-disk checkpoint: one plain dict of tensors, strings and numbers, written atomically
and read back with `weights_only=True`, so loading a file can never run code."""

from __future__ import annotations

import hashlib
import os
import time
import zipfile
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from fmnist.atomic import write_atomically
from fmnist.data import CLASS_NAMES, MEAN, STD
from fmnist.models import MODELS, build_model, model_options

FORMAT_VERSION = 1
CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
# Names usable instead of a path; "default" is the model the app starts with.
SHIPPED = {"lenet": "lenet.pt", "cnn": "cnn.pt", "default": "cnn.pt"}
TEMP_PREFIX = ".tmp-ckpt-"


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint of this project (one line saying why). `unreadable`: where the file could
    not be read at all, why, in words that name no path (the app shows them to a student)."""

    def __init__(self, message: str, unreadable: str | None = None) -> None:
        super().__init__(message)
        self.unreadable = unreadable


def resolve_checkpoint(name_or_path: str | os.PathLike) -> Path:
    """A shipped checkpoint's name (lenet, default) or a path -> the file's path."""
    key = str(name_or_path)
    if key in SHIPPED:
        return CHECKPOINT_DIR / SHIPPED[key]
    path = Path(name_or_path)
    if not path.is_file():
        raise CheckpointError(f"{key}: no such file (shipped checkpoints: {', '.join(SHIPPED)})")
    return path


def make_checkpoint(model: nn.Module, arch: str, train_config: object | None = None,
                    metrics: dict | None = None, extra: dict | None = None) -> dict:
    """The checkpoint dict for a model: weights plus what preprocessing and the UI need to know."""
    state = {k: v.detach().to("cpu", memory_format=torch.contiguous_format).clone()
             for k, v in model.state_dict().items()}
    config = asdict(train_config) if train_config is not None and hasattr(train_config, "__dataclass_fields__") \
        else (train_config or {})
    return {
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "arch_options": model_options(model),
        "state_dict": state,
        "class_names": list(CLASS_NAMES),
        "normalization": {"mean": MEAN, "std": STD},
        "train_config": dict(config),
        "metrics": metrics or {},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "torch_version": str(torch.__version__),
        **(extra or {}),
    }


def save_checkpoint(checkpoint: dict, path: str | os.PathLike) -> Path:
    """Write atomically (`fmnist.atomic`): a full disk leaves the previous file, or none, never half of one."""
    try:
        return write_atomically(path, lambda f: torch.save(checkpoint, f), TEMP_PREFIX)
    except OSError as err:
        raise CheckpointError(f"{path}: could not write checkpoint ({err.strerror or err})") from err


def clean_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete temp files that an interrupted save left behind in a folder; returns them."""
    stale = list(Path(folder).glob(TEMP_PREFIX + "*"))
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


RESUME_FILE = "resume.pt"  # a run's progress between two epochs, in its output folder, until the run finishes


def save_resume_state(state: dict, folder: str | os.PathLike) -> Path:
    """A run's state between two epochs (`fmnist.train.TrainRun.resume_state()`, plus whatever the caller adds) ->
    folder/resume.pt, atomically (a run killed while saving keeps the previous epoch's). CheckpointError when it
    cannot be written."""
    path = Path(folder) / RESUME_FILE
    try:
        return write_atomically(path, lambda f: torch.save(state, f), TEMP_PREFIX)
    except OSError as err:
        raise CheckpointError(f"{path}: could not save the run's progress ({err.strerror or err})") from err


def load_resume_state(folder: str | os.PathLike) -> dict:
    """A run's folder (or its resume.pt) -> the state save_resume_state wrote, read with weights_only=True.
    CheckpointError in words when there is none or it cannot be read; `fmnist.train.resume_run` checks the rest."""
    path = Path(folder)
    path = path / RESUME_FILE if path.is_dir() else path
    if not path.is_file():
        raise CheckpointError(f"{folder}: no unfinished run there (a run saves {RESUME_FILE} in its --out folder "
                              f"after each epoch and removes it when it finishes; a finished run leaves model.pt)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # cut short, not a torch file, objects that could run code
        raise CheckpointError(f"{path}: not a readable saved run ({_unreadable_reason(path, err)[0]})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a saved training run")
    return state


def _validate(ckpt: object, where: str) -> dict:
    if isinstance(ckpt, dict) and ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        raise CheckpointError(f"{where}: a bare state_dict (weights without the metadata this project needs); "
                              "save it with fmnist.checkpoint.make_checkpoint(model, arch) and save_checkpoint")
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{where}: not a checkpoint of this project (expected a dict with a state_dict)")
    version = ckpt.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise CheckpointError(f"{where}: format version {version!r} not supported (this code reads 1..{FORMAT_VERSION})")
    arch = ckpt.get("arch")
    if arch not in MODELS:
        raise CheckpointError(f"{where}: unknown architecture {arch!r} (known: {', '.join(MODELS)})")
    if list(ckpt.get("class_names", [])) != list(CLASS_NAMES):
        raise CheckpointError(f"{where}: class names differ from Fashion-MNIST's")
    norm = ckpt.get("normalization")
    if not (isinstance(norm, dict) and all(isinstance(norm.get(k), (int, float)) for k in ("mean", "std"))
            and norm["std"] > 0):
        raise CheckpointError(f"{where}: missing or invalid normalization")
    state = ckpt["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{where}: state_dict is not a dict of tensors")
    for k, v in state.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise CheckpointError(f"{where}: weight {k} contains NaN or infinite values")
    return ckpt


def ready_for_inference(model: nn.Module) -> nn.Module:
    """The model on the CPU, channels-last, in eval mode: how every loaded or freshly trained model is
    used for predictions (oneDNN's CPU convolutions take a third less time this way, for one drawing too)."""
    return model.to("cpu", memory_format=torch.channels_last).eval()


def _unreadable_reason(path: Path, err: Exception) -> tuple[str, str]:
    """Why torch.load refused a file, in words (PyTorch's own text asks the reader to file an issue) -> (the reason,
    advice for whoever wrote the file, or "")."""
    with open(path, "rb") as f:
        head = f.read(2)
    if not head:
        return "the file is empty", ""
    whole = head == b"PK" and zipfile.is_zipfile(path)  # torch.save's format; a cut-short zip has no directory
    legacy = head == b"\x80\x02" and "global" in str(err).lower()  # torch < 1.6 wrote a bare pickle
    if whole or legacy:
        return ("it holds Python objects, not only weights, and loading those could run code",
                ": refused; save with fmnist.checkpoint.save_checkpoint(make_checkpoint(model, arch), path)")
    if head in (b"PK", b"\x80\x02"):
        return "the file is cut short or damaged: an incomplete download or copy?", ""
    return "not a PyTorch file at all: it does not begin like one", ""


def lineage(name: str, meta: dict) -> dict:
    """What a run that starts from a checkpoint (as named, and its metadata from load_checkpoint) records of it: the
    name and the file's sha256, its training config, test accuracy, epochs and seconds, and what it started from in
    turn (so a chain of runs stays reproducible)."""
    metrics = meta.get("metrics", {})
    record = {"file": name, "sha256": hashlib.sha256(Path(meta["path"]).read_bytes()).hexdigest(),
              "train_config": meta.get("train_config", {}),
              **{k: metrics[k] for k in ("accuracy", "epochs_completed", "train_seconds") if k in metrics}}
    if "started_from" in meta:
        record["started_from"] = meta["started_from"]
    return record


def load_checkpoint(name_or_path: str | os.PathLike) -> tuple[nn.Module, dict]:
    """Load a checkpoint safely -> (model on the CPU in eval mode, channels-last, its metadata without the weights)."""
    path = resolve_checkpoint(name_or_path)
    try:
        # weights_only=True, passed explicitly: only tensors and plain containers are unpickled.
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, random bytes, disallowed global in the pickle, ...
        reason, advice = _unreadable_reason(path, err)
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason}{advice})", unreadable=reason) from None
    ckpt = _validate(ckpt, str(path))
    try:
        model = build_model(ckpt["arch"], **ckpt.get("arch_options", {}))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: its arch_options do not fit {ckpt['arch']} ({err})") from None
    try:
        model.load_state_dict(ckpt["state_dict"], strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise CheckpointError(f"{path}: weights do not fit {ckpt['arch']} ({' '.join(first[:2])[:300]})") from None
    meta = {k: v for k, v in ckpt.items() if k != "state_dict"}
    meta["path"] = str(path)
    return ready_for_inference(model), meta

