"""Where the app keeps what must outlive a restart (the class board's file, the class's drawings): the path a teacher
names in an environment variable, else a Hugging Face Space's persistent storage, else runs/ under the working folder."""

from __future__ import annotations

import os
from pathlib import Path

SPACES_DATA = Path("/data")  # a Hugging Face Space's persistent storage, when the Space has it
LOCAL = Path("runs")


def kept_path(variable: str, name: str) -> Path:
    """$variable (surrounding spaces removed) when it is set, else /data/name on a Space with persistent storage
    (/data exists and is writable), else runs/name."""
    named = os.environ.get(variable, "").strip()
    if named:
        return Path(named)
    if SPACES_DATA.is_dir() and os.access(SPACES_DATA, os.W_OK):
        return SPACES_DATA / name
    return LOCAL / name
