"""The class board: every recorded training run of a class in one SQLite file (where it lives, its schema
and migrations, recording, listing, clearing, CSV export) and the seed-style table built from it.

Nothing typed by a user is ever put into SQL text: every value goes in as a parameter. A file that is not
a database is moved aside and a fresh board started; a board that cannot be opened or written (read-only
folder, full disk) is reported once in the log and by the return values, and never raises into training.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import sqlite3
import time
import unicodedata
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from statistics import mean

from fmnist.storage import kept_path

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0  # a writer waits this long for another one before giving up
NICKNAME_MAX = 24
OUTCOMES = ("finished", "stopped", "time limit", "diverged")
# The seed write-up's test accuracy (%) for its LeNet, by batch size.
SEED_ACCURACY = {32: 88.72, 64: 88.94, 100: 89.76, 256: 87.76}
SEED_MODEL = "lenet"
DRAWING_KINDS = ("outline", "filled")  # fmnist.sketches.KINDS: what "accuracy on drawings" averages


def db_path() -> Path:
    """Where the board lives: $FMNIST_DB, else /data/fmnist.sqlite on a Space with persistent storage
    (/data exists and is writable), else runs/fmnist.sqlite under the working folder."""
    return kept_path("FMNIST_DB", "fmnist.sqlite")


def check_nickname(name: str | None) -> str | None:
    """A nickname as stored (surrounding spaces removed; empty -> None), or a ValueError saying what is wrong.
    Any letters, digits, punctuation and symbols of any script are allowed (display escapes them); control,
    invisible and direction-changing characters are not, nor more than NICKNAME_MAX characters."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise ValueError(f"nickname must be text, got {type(name).__name__}")
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        return None
    if len(name) > NICKNAME_MAX:
        raise ValueError(f"nickname: at most {NICKNAME_MAX} characters, got {len(name)}")
    for i, ch in enumerate(name):
        kind = unicodedata.category(ch)
        # Cc control, Cf format (zero-width, bidi overrides), Cs/Co/Cn surrogates, private use, unassigned;
        # Zl/Zp line breaks; Zs other than a plain space (no-break and odd-width spaces look like a space).
        if kind[0] == "C" or kind in ("Zl", "Zp") or (kind == "Zs" and ch != " "):
            raise ValueError(f"nickname: character {i + 1} ({unicodedata.name(ch, f'U+{ord(ch):04X}')}) is not "
                             "allowed; use letters, digits, spaces and punctuation")
    return name


@dataclass(frozen=True)
class BoardRun:
    """One recorded training run, as stored (accuracies are fractions in [0, 1])."""

    when: str  # UTC time the run was recorded, ISO 8601 to the second ("2026-12-01T15:40:02Z")
    nickname: str | None  # what the student typed (check_nickname), or None
    model: str  # architecture name in fmnist.models.MODELS
    batch_size: int  # images per Adam step
    epochs: int  # epochs the run was set to train
    epochs_done: int  # epochs it completed before it ended
    lr: float  # Adam learning rate
    train_images: int  # training images used (the whole split or a stratified subset)
    augment: bool  # sketch-style augmentation on
    seed: int  # the run's seed
    device: str  # where it trained, as fmnist.train.describe_device says ("cpu (2 threads)", "cuda")
    train_seconds: float  # wall-clock seconds of training (final evaluation excluded)
    test_accuracy: float  # on the test set, after the run
    per_class_accuracy: dict[str, float]  # class name -> fraction correct
    sketch_accuracy: dict[str, float]  # drawing kind (outline, filled) -> fraction correct
    loss_curve: list[float]  # mean training loss of each completed epoch
    acc_curve: list[float]  # test accuracy after each completed epoch
    outcome: str  # one of OUTCOMES
    id: int | None = None  # row id once stored

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {self.outcome!r}")
        if check_nickname(self.nickname) != self.nickname:
            raise ValueError(f"nickname {self.nickname!r} is not in stored form (use check_nickname)")
        for name in ("batch_size", "epochs", "epochs_done", "train_images", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        for name in ("lr", "train_seconds", "test_accuracy"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")

    @property
    def drawings_accuracy(self) -> float | None:
        """Mean accuracy on outline and filled drawings, or None when they were not measured."""
        measured = [self.sketch_accuracy[k] for k in DRAWING_KINDS if k in self.sketch_accuracy]
        return mean(measured) if measured else None


def make_run(*, model: str, batch_size: int, epochs: int, lr: float, train_images: int, augment: bool, seed: int,
             device: str, train_seconds: float, metrics: dict, loss_curve: list[float], acc_curve: list[float],
             outcome: str, nickname: str | None = None, when: float | None = None) -> BoardRun:
    """A BoardRun from what a finished training has in hand, in the CLI and the app alike: the config's
    fields, its metrics dict (accuracy, per_class_accuracy, sketch_accuracy), the per-epoch loss and test
    accuracy (fractions), how it ended ("finished", "stopped", "time limit: ..." or "diverged: ...": the
    text after a colon is dropped), its seconds, its device and the nickname (checked here)."""
    stamp = datetime.fromtimestamp(time.time() if when is None else when, timezone.utc)
    return BoardRun(
        when=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), nickname=check_nickname(nickname), model=str(model),
        batch_size=int(batch_size), epochs=int(epochs), epochs_done=len(acc_curve), lr=float(lr),
        train_images=int(train_images), augment=bool(augment), seed=int(seed), device=str(device),
        train_seconds=round(float(train_seconds), 2), test_accuracy=float(metrics["accuracy"]),
        per_class_accuracy={str(k): round(float(v), 5) for k, v in metrics.get("per_class_accuracy", {}).items()},
        sketch_accuracy={str(k): round(float(v), 5) for k, v in (metrics.get("sketch_accuracy") or {}).items()},
        loss_curve=[round(float(x), 5) for x in loss_curve], acc_curve=[round(float(x), 5) for x in acc_curve],
        outcome=outcome.split(":")[0].strip())


# Migrations, in order: version N is reached by running MIGRATIONS[N - 1] inside one transaction.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recorded_at TEXT NOT NULL,
        nickname TEXT,
        model TEXT NOT NULL,
        batch_size INTEGER NOT NULL,
        epochs INTEGER NOT NULL,
        epochs_done INTEGER NOT NULL,
        lr REAL NOT NULL,
        train_images INTEGER NOT NULL,
        augment INTEGER NOT NULL,
        seed INTEGER NOT NULL,
        device TEXT NOT NULL,
        train_seconds REAL NOT NULL,
        test_accuracy REAL NOT NULL,
        per_class_accuracy TEXT NOT NULL,
        sketch_accuracy TEXT NOT NULL,
        loss_curve TEXT NOT NULL,
        acc_curve TEXT NOT NULL,
        outcome TEXT NOT NULL
    );
    CREATE INDEX runs_by_batch_size ON runs (batch_size);
    """,
]
_JSON_FIELDS = ("per_class_accuracy", "sketch_accuracy", "loss_curve", "acc_curve")
_COLUMNS = [f.name for f in fields(BoardRun) if f.name not in ("id", "when")]


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class BoardUnavailable(RuntimeError):
    """The board's file cannot be opened or written; the message says why."""


class Board:
    """The class board in one SQLite file. Each operation opens its own connection (WAL, busy timeout), so
    one Board is safe to share between threads, and several processes may use the same file."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else db_path()
        self.problem: str | None = None  # why the board is off just now, or None when it works
        self._ready = False

    # -- opening ---------------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        return conn

    def _open(self) -> sqlite3.Connection:
        """A connection to a board that is in WAL mode and migrated; a corrupt file is moved aside first."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        if self._ready:
            return conn
        try:
            if self._wal(conn) != "wal":
                raise sqlite3.OperationalError("the database cannot be put in WAL mode")
            check = conn.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                raise sqlite3.DatabaseError("quick_check: " + "; ".join(r[0] for r in check[:3]))
            self._migrate(conn)
        except sqlite3.DatabaseError as err:
            conn.close()
            if isinstance(err, sqlite3.OperationalError):
                raise
            self._move_aside(err)
            conn = self._connect()
            conn.execute("PRAGMA journal_mode = WAL")
            self._migrate(conn)
        self._ready = True
        return conn

    @staticmethod
    def _wal(conn: sqlite3.Connection) -> str:
        """Put the file in WAL mode; the journal mode. Two processes opening a new file at the same moment can get
        "database is locked" at once here (SQLite does not always wait on the busy handler for the mode switch),
        so it is retried for up to BUSY_TIMEOUT_S."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower()
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _move_aside(self, err: Exception) -> None:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        n = 1
        while aside.exists():
            aside = aside.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
            n += 1
        os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):  # the old file's journal must not be replayed into the new one
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
        log.warning("class board %s was not a readable database (%s); moved it to %s and started a new one",
                    self.path, err, aside.name)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then find it done
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
            if version > len(MIGRATIONS):
                raise BoardUnavailable(f"{self.path} has schema version {version}, written by a newer version of "
                                       f"this app (this one knows up to {len(MIGRATIONS)}); left untouched")
            for script in MIGRATIONS[version:]:
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
            if row is None:
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS),))
            else:
                conn.execute("UPDATE schema_version SET version = ?", (len(MIGRATIONS),))
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    def _run(self, work, default):
        """work(connection) with the board's failure rule: a board that cannot be opened or written is
        logged once (when it goes off) and `default` returned; it is tried again on the next call."""
        try:
            conn = self._open()
            try:
                result = work(conn)
            finally:
                conn.close()
        except (sqlite3.Error, OSError, BoardUnavailable) as err:
            reason = f"{self.path}: {err}"
            if self.problem != reason:
                log.error("class board disabled: %s", reason)
            self.problem = reason
            self._ready = False
            return default
        self.problem = None
        return result

    # -- operations ------------------------------------------------------------------------------------------
    def record(self, run: BoardRun) -> int | None:
        """Store a run; its row id, or None when the board is off (see `problem`)."""
        values = asdict(run)
        params = [values["when"]] + [_compact(values[c]) if c in _JSON_FIELDS else values[c] for c in _COLUMNS]
        sql = (f"INSERT INTO runs (recorded_at, {', '.join(_COLUMNS)}) "
               f"VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})")

        def insert(conn):
            conn.execute("BEGIN IMMEDIATE")
            try:
                rowid = conn.execute(sql, params).lastrowid
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
            return rowid

        return self._run(insert, None)

    def runs(self) -> list[BoardRun]:
        """Every stored run, oldest first ([] when the board is off)."""
        def select(conn):
            rows = conn.execute(f"SELECT id, recorded_at, {', '.join(_COLUMNS)} FROM runs ORDER BY id").fetchall()
            return [_from_row(r) for r in rows]

        return self._run(select, [])

    def version(self) -> tuple[int, int] | None:
        """(number of runs, highest id ever given): changes with every record and clear (None when off)."""
        def token(conn):
            count = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
            seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'runs'").fetchone()
            return count, seq[0] if seq else 0

        return self._run(token, None)

    def clear(self) -> int | None:
        """Delete every run; how many were deleted (None when the board is off)."""
        def delete(conn):
            return conn.execute("DELETE FROM runs").rowcount

        return self._run(delete, None)

    def to_csv(self) -> str | None:
        """All runs as CSV text, one row per run (None when the board is off)."""
        runs = self.runs()
        return None if self.problem else runs_csv(runs)


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo an open transaction; SQLite has already undone one that failed for a full disk or an I/O error."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _from_row(row: tuple) -> BoardRun:
    rowid, when, *rest = row
    values = dict(zip(_COLUMNS, rest))
    for key in _JSON_FIELDS:
        values[key] = json.loads(values[key])
    values["augment"] = bool(values["augment"])
    return BoardRun(when=when, id=rowid, **values)


def _cell(value) -> str | int | float:
    """A CSV cell; text starting like a spreadsheet formula gets a leading quote (CSV injection)."""
    if isinstance(value, (dict, list)):
        return _compact(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def runs_csv(runs: list[BoardRun]) -> str:
    """Runs as CSV text: a header with every BoardRun field, then one row per run."""
    names = ["id", "when", *_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for run in runs:
        values = asdict(run)
        writer.writerow([_cell(values[n]) for n in names])
    return out.getvalue()


@dataclass(frozen=True)
class BatchSummary:
    """One line of the class's seed-style table: the finished runs of one model at one batch size."""

    model: str
    batch_size: int
    runs: int  # finished runs
    mean_acc: float | None  # mean test accuracy (fraction), None without runs
    best_acc: float | None
    worst_acc: float | None
    mean_seconds: float | None  # mean training time
    seed_acc: float | None  # the seed's figure (fraction) for this batch size, for the seed's LeNet only


def class_table(runs: list[BoardRun]) -> list[BatchSummary]:
    """The seed's table rebuilt from the class's finished runs: per model and batch size, the number of runs,
    mean / best / worst test accuracy and mean time; the seed's four LeNet batch sizes are always there."""
    groups: dict[tuple[str, int], list[BoardRun]] = {(SEED_MODEL, b): [] for b in SEED_ACCURACY}
    for run in runs:
        if run.outcome == "finished":
            groups.setdefault((run.model, run.batch_size), []).append(run)
    table = []
    for (model, batch), group in sorted(groups.items(), key=lambda kv: (kv[0][0] != SEED_MODEL, kv[0])):
        accs = [r.test_accuracy for r in group]
        seed = SEED_ACCURACY.get(batch) if model == SEED_MODEL else None
        table.append(BatchSummary(model, batch, len(group), mean(accs) if accs else None, max(accs, default=None),
                                  min(accs, default=None),
                                  mean(r.train_seconds for r in group) if group else None,
                                  None if seed is None else seed / 100))
    return table


def best_runs(runs: list[BoardRun], key: str = "test", n: int = 5) -> list[BoardRun]:
    """The n best runs by test accuracy (key "test") or by accuracy on drawings (key "drawings"); ties go to
    the earlier run."""
    if key == "test":
        scored = [(r.test_accuracy, r) for r in runs]
    elif key == "drawings":
        scored = [(r.drawings_accuracy, r) for r in runs if r.drawings_accuracy is not None]
    else:
        raise ValueError(f"key must be 'test' or 'drawings', got {key!r}")
    return [r for _, r in sorted(scored, key=lambda sr: (-sr[0], sr[1].id or 0))[:n]]


def _pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f} %"


def table_rows(table: list[BatchSummary]) -> list[list[str]]:
    """The class table as text cells, for a terminal or the app: the header first."""
    rows = [["batch size", "model", "runs", "mean test acc", "best", "worst", "mean time", "seed's test acc"]]
    for s in table:
        rows.append([str(s.batch_size), s.model, str(s.runs), _pct(s.mean_acc), _pct(s.best_acc), _pct(s.worst_acc),
                     "—" if s.mean_seconds is None else f"{s.mean_seconds:.0f} s", _pct(s.seed_acc)])
    return rows


def markdown_table(rows: list[list[str]]) -> str:
    """Cells (header first) as a markdown table, numbers right-aligned, for the terminal."""
    align = ["---:" if all(c[:1].isdigit() or c == "—" for c in col[1:]) else "---" for col in zip(*rows)]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines) + "\n"
