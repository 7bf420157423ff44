"""Stop requests that reach a run wherever it trains: in this process, or in the process that ZeroGPU
forks for a `spaces.GPU` call. A request's token is a file name (a plain string: it pickles and survives
fork); Stop creates the file, the training loop looks for it between steps."""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

STOP_DIR = Path(tempfile.gettempdir()) / "fmnist-stop-requests"


@dataclass(frozen=True)
class StopToken:
    """One training request's stop flag; set() is seen by is_set() in any process on this machine."""

    path: str

    def set(self) -> None:
        """Ask the run to stop (it ends after its current step and keeps its model)."""
        Path(self.path).touch()

    def is_set(self) -> bool:
        return os.path.exists(self.path)

    def discard(self) -> None:
        Path(self.path).unlink(missing_ok=True)


_tokens: dict[str, StopToken] = {}  # session -> the token of its current request (queued or training)
_lock = threading.Lock()


def new_token(session: str) -> StopToken | None:
    """A fresh stop token for a session's new request (a run or a sweep), or None while its previous request is still
    queued or training: one request a session, so that Stop always reaches the one that is running."""
    STOP_DIR.mkdir(parents=True, exist_ok=True)
    token = StopToken(str(STOP_DIR / f"{uuid.uuid4().hex}.stop"))
    with _lock:
        if session in _tokens:
            return None
        _tokens[session] = token
    return token


def request_stop(session: str) -> bool:
    """Stop the session's current request, queued or training; False if it has none."""
    with _lock:
        token = _tokens.get(session)
    if token is None:
        return False
    token.set()
    return True


def release(session: str, token: StopToken) -> None:
    """The request is over: forget its token and remove its file."""
    with _lock:
        if _tokens.get(session) == token:
            del _tokens[session]
    token.discard()


def active(session: str) -> bool:
    """Whether the session has a request that Stop would reach."""
    with _lock:
        return session in _tokens
