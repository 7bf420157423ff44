"""Drawings people made, kept with what they drew: the folder a class fills from the Predict tab ("Add it to the
class's drawings") and `python -m fmnist evaluate CHECKPOINT --collected DIR` scores a model on. Our own sketch set is
drawn by code; these are the drawings the project is really for.

One PNG per drawing (the pad's RGBA ink as it reached the server), in a sub-folder named after its class
(`DIR/coat/3f9a0c12d4e5a7b8.png`) and named by a hash of its pixels: the same drawing added twice is one file, and
added again under another class it moves there. A teacher can look through the folders and move a file whose label
is wrong; nothing here is ever used in training."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from torch import nn

from fmnist.atomic import write_atomically
from fmnist.data import CLASS_NAMES
from fmnist.preprocess import BlankImageError, ImageError, open_image, preprocess_drawing
from fmnist.sketches import Prepared, condition_figures, drawing_probabilities
from fmnist.storage import kept_path

MAX_DRAWINGS = 20_000  # a folder's limit (a drawing is 2-10 KB: at most about 200 MB)
MAX_SIDE = 1024  # the largest drawing kept, in pixels a side (the pad sends 224)
TEMP_PREFIX = ".tmp-drawing-"


def class_folder(label: int) -> str:
    """The sub-folder of a class: "T-shirt/top" -> "t-shirt-top", "Ankle boot" -> "ankle-boot"."""
    return re.sub(r"[^a-z]+", "-", CLASS_NAMES[label].lower())


FOLDERS = tuple(class_folder(label) for label in range(len(CLASS_NAMES)))


class CollectionError(ValueError):
    """A drawing that could not be kept, or a folder that cannot be read, in words."""


def collecting() -> bool:
    """Whether the app keeps the drawings students add: unless FMNIST_DRAWINGS is "off" (a public server)."""
    return os.environ.get("FMNIST_DRAWINGS", "").strip().lower() != "off"


def collection_folder() -> Path:
    """Where the app keeps the drawings: $FMNIST_DRAWINGS, else /data/drawings on a Space with persistent storage,
    else runs/drawings under the working folder (as the class board's file). CollectionError where it keeps none."""
    if not collecting():
        raise CollectionError("this server keeps no drawings (FMNIST_DRAWINGS=off)")
    return kept_path("FMNIST_DRAWINGS", "drawings")


@dataclass(frozen=True)
class Collection:
    """A folder's drawings after the app's preprocessing, and the files it could not use."""

    prepared: Prepared  # what condition_figures scores (blank: preprocessing found nothing to classify)
    files: tuple[str, ...]  # (N,) each drawing's path relative to the folder, "coat/3f9a0c12d4e5a7b8.png"
    stamps: tuple[tuple[str, int, int], ...]  # (N,) (file name, change in ns, size): the same for an unchanged file
    skipped: tuple[tuple[str, str], ...]  # (path relative to the folder, why), e.g. not a PNG the app can read


def add_drawing(folder: str | os.PathLike, rgba: np.ndarray, label: int) -> tuple[Path, bool]:
    """Keep a drawing (H, W, 4) uint8 RGBA under its class -> (its file, whether it is new). The same pixels added
    again under another class move there; CollectionError says why a drawing cannot be kept (nothing drawn, not
    a class, the folder full, the disk full), and nothing is left half-written."""
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < len(CLASS_NAMES):
        raise CollectionError(f"the class must be a number from 0 to {len(CLASS_NAMES) - 1}, got {label!r}")
    if not isinstance(rgba, np.ndarray) or rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise CollectionError("a drawing is an RGBA picture (H, W, 4) of 8-bit values")
    if max(rgba.shape[:2]) > MAX_SIDE:
        raise CollectionError(f"the drawing is {rgba.shape[1]}x{rgba.shape[0]} pixels, larger than {MAX_SIDE}")
    if not rgba[..., 3].any():
        raise CollectionError("nothing is drawn")
    folder = Path(folder)
    name = hashlib.sha256(np.ascontiguousarray(rgba).tobytes() + str(rgba.shape).encode()).hexdigest()[:16] + ".png"
    target = folder / FOLDERS[label] / name
    if target.exists():
        return target, False
    elsewhere = [folder / f / name for f in FOLDERS if f != FOLDERS[label] and (folder / f / name).exists()]
    if not elsewhere and sum(count_drawings(folder).values()) >= MAX_DRAWINGS:
        raise CollectionError(f"the collection is full ({MAX_DRAWINGS:,} drawings)")
    png = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(png, format="PNG", optimize=True)
    try:
        write_atomically(target, lambda f: f.write(png.getvalue()), TEMP_PREFIX)
    except OSError as err:
        raise CollectionError(_disk_problem(err)) from err
    for old in elsewhere:
        old.unlink(missing_ok=True)
    return target, True


def _disk_problem(err: OSError) -> str:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the server's disk is full"
    return f"the drawing could not be written ({err.strerror or err})"


def count_drawings(folder: str | os.PathLike) -> dict[str, int]:
    """How many drawings each class has in a folder {class name: n} (a folder not made yet: none)."""
    counts = np.bincount([label for label, _, _ in _drawing_files(Path(folder))], minlength=len(CLASS_NAMES))
    return {name: int(n) for name, n in zip(CLASS_NAMES, counts)}


def _drawing_files(folder: Path) -> list[tuple[int, str, os.stat_result]]:
    """(label, path relative to the folder, stat) of every PNG in the class sub-folders, class by class, by name (a
    temp file that a killed write left behind is not one)."""
    found = []
    for label, sub in enumerate(FOLDERS):
        try:
            entries = sorted((e.name, e.stat()) for e in os.scandir(folder / sub)
                             if e.name.endswith(".png") and not e.name.startswith(TEMP_PREFIX))
        except (FileNotFoundError, NotADirectoryError):
            continue
        found += [(label, f"{sub}/{name}", st) for name, st in entries]
    return found


def collection_version(folder: str | os.PathLike) -> tuple[int, ...]:
    """Each class folder's last change in ns (0: no such folder): changes whenever a drawing is added, moved or
    removed (each is a rename or unlink in its folder), at the cost of ten stat calls however many drawings."""
    stamps = []
    for sub in FOLDERS:
        try:
            stamps.append((Path(folder) / sub).stat().st_mtime_ns)
        except OSError:
            stamps.append(0)
    return tuple(stamps)


def read_drawing(path: str | os.PathLike) -> np.ndarray:
    """A kept drawing's file -> its RGBA pixels (H, W, 4) uint8; ImageError if it is not a drawing the app can read."""
    img = open_image(path)
    if max(img.size) > MAX_SIDE:
        raise ImageError(f"{img.size[0]}x{img.size[1]} pixels, larger than {MAX_SIDE}")
    return np.asarray(img.convert("RGBA"))


def clear_collection(folder: str | os.PathLike) -> int:
    """Delete every drawing of a folder (and any temp file a killed write left) -> how many drawings went. Other
    files and folders stay. CollectionError: a file could not be deleted (those before it are gone)."""
    folder = Path(folder)
    files = _drawing_files(folder)
    try:
        for _, rel, _ in files:
            (folder / rel).unlink(missing_ok=True)
        for sub in FOLDERS:
            for stale in (folder / sub).glob(TEMP_PREFIX + "*") if (folder / sub).is_dir() else ():
                stale.unlink(missing_ok=True)
    except OSError as err:
        raise CollectionError(f"a drawing could not be deleted ({err.strerror or err})") from err
    return len(files)


def write_archive(folder: str | os.PathLike, path: str | os.PathLike) -> int:
    """Every drawing of a folder into one zip file, in its class sub-folders as kept -> how many. CollectionError:
    nothing to archive, or the file could not be written (the disk full: no half-written file is left)."""
    files = _drawing_files(Path(folder))
    if not files:
        raise CollectionError(f"{folder}: no drawings to download yet")
    path = Path(path)
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
            for _, rel, _ in files:
                archive.write(Path(folder) / rel, rel)
    except OSError as err:
        path.unlink(missing_ok=True)
        raise CollectionError(_disk_problem(err)) from err
    return len(files)


def load_collection(folder: str | os.PathLike, cache: dict | None = None) -> Collection:
    """Every drawing in a folder through the app's preprocessing, class by class and file by file in name order; a
    file that is not a drawing the app can read is skipped and named. `cache` (the caller's dict, kept between
    calls) keeps each file's result while the file is unchanged, so a growing folder is read once; it is pruned to
    the files there are, as collected_accuracy's is. CollectionError: no such folder, or no drawing in it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CollectionError(f"{folder}: no such folder")
    cache = {} if cache is None else cache
    images, labels, blank, files, stamps, skipped = [], [], [], [], [], []
    found = _drawing_files(folder)
    for rel in set(cache) - {rel for _, rel, _ in found}:  # deleted or moved away
        del cache[rel]
    for label, rel, st in found:
        stamp = (st.st_mtime_ns, st.st_size)
        if cache.get(rel, (None,))[0] != stamp:
            try:
                cache[rel] = (stamp, preprocess_drawing(read_drawing(folder / rel)), None)
            except BlankImageError:
                cache[rel] = (stamp, None, None)
            except ImageError as err:
                cache[rel] = (stamp, None, str(err).replace(str(folder / rel), rel))
        _, image, problem = cache[rel]
        if problem is not None:
            skipped.append((rel, problem))
            continue
        images.append(np.zeros((28, 28), np.uint8) if image is None else image)
        labels.append(label)
        blank.append(image is None)
        files.append(rel)
        stamps.append((Path(rel).name, *stamp))
    if not files:
        raise CollectionError(f"{folder}: no drawings in it (one sub-folder a class: {', '.join(FOLDERS)})")
    prepared = Prepared(np.stack(images), np.array(labels, dtype=np.int64), np.zeros(len(files), dtype=bool),
                        np.array(blank, dtype=bool))
    return Collection(prepared, tuple(files), tuple(stamps), tuple(skipped))


def collected_accuracy(model: nn.Module, normalization: dict, collection: Collection,
                       cache: dict | None = None) -> dict:
    """A model on a collection: the sketch columns' figures ("accuracy", "balanced_accuracy" over the classes with
    drawings, "per_class_accuracy" (None for a class without drawings), "n"), "per_class_n", each wrong answer
    {"file", "label", "predicted", "probability"} surest first (a blank drawing: None, None), and "skipped"
    [{"file", "why"}]. `cache` (the caller's dict for this model, kept between calls) keeps each drawing's
    probabilities while its file is unchanged, so a growing collection goes through the model once; it is pruned
    to the drawings there are."""
    p = collection.prepared
    cache = {} if cache is None else cache
    new = [i for i, key in enumerate(collection.stamps) if key not in cache]
    if new:
        for i, row in zip(new, drawing_probabilities(model, normalization, p.images[new])):
            cache[collection.stamps[i]] = row
    for key in set(cache) - set(collection.stamps):
        del cache[key]
    probs = np.stack([cache[key] for key in collection.stamps])
    preds = probs.argmax(1)
    figures = {k: v for k, v in condition_figures(preds, p).items() if not k.startswith("drawn_")}
    counts = np.bincount(p.labels, minlength=len(CLASS_NAMES))
    figures["per_class_accuracy"] = {n: figures["per_class_accuracy"].get(n) for n in CLASS_NAMES}  # None: no drawing
    wrong = [i for i in np.flatnonzero((preds != p.labels) | p.blank)]
    wrong.sort(key=lambda i: -probs[i, preds[i]])
    return {**figures,
            "per_class_n": {n: int(c) for n, c in zip(CLASS_NAMES, counts)},
            "mistakes": [{"file": collection.files[i], "label": CLASS_NAMES[p.labels[i]],
                          "predicted": None if p.blank[i] else CLASS_NAMES[preds[i]],
                          "probability": None if p.blank[i] else round(float(probs[i, preds[i]]), 4)} for i in wrong],
            "skipped": [{"file": f, "why": why} for f, why in collection.skipped]}
