"""Files written whole or not at all: a temp file in the target's folder, flushed to disk, then renamed over the
target, so a full disk or a killed process never leaves half a checkpoint or half a drawing."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], object], prefix: str,
                     durable: bool = True) -> Path:
    """Create the folder, call write(file) on a temp file named prefix* beside `path`, then rename it to `path`
    (readable by all: the files are meant to be shared). OSError when anything fails; the temp file is removed.
    durable=False skips the flush to disk (a cache file that can be made again: readers still see it whole or not
    at all)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=path.suffix, dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600
        with os.fdopen(fd, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
