"""The class board (fmnist.board): where the file lives, concurrent writers in threads and processes, corrupt,
unwritable and full databases, hostile nicknames, migrations, CSV, and the seed-style table by hand."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fmnist import storage
from fmnist import board as board_mod
from fmnist.board import (SEED_ACCURACY, Board, BoardRun, best_runs, check_nickname, class_table, db_path,
                          make_run, runs_csv)

ROOT = Path(__file__).resolve().parent.parent


def a_run(batch_size: int = 100, acc: float = 0.9, nickname: str | None = None, outcome: str = "finished",
          model: str = "lenet", seconds: float = 10.0, sketch: dict | None = None, epochs: int = 2) -> BoardRun:
    return make_run(model=model, batch_size=batch_size, epochs=epochs, lr=0.001, train_images=60000, augment=False,
                    seed=0, device="cpu (2 threads)", train_seconds=seconds,
                    metrics={"accuracy": acc, "per_class_accuracy": {"T-shirt/top": 0.8, "Trouser": 0.97},
                             "sketch_accuracy": {"outline": 0.4, "filled": 0.7} if sketch is None else sketch},
                    loss_curve=[0.61, 0.38][:epochs], acc_curve=[0.86, acc][:epochs], outcome=outcome,
                    nickname=nickname)


def test_where_the_file_lives(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "SPACES_DATA", tmp_path / "no-data")
    monkeypatch.delenv("FMNIST_DB", raising=False)
    assert db_path() == Path("runs/fmnist.sqlite")
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(storage, "SPACES_DATA", tmp_path / "data")  # a Space with persistent storage
    assert db_path() == tmp_path / "data" / "fmnist.sqlite"
    monkeypatch.setenv("FMNIST_DB", str(tmp_path / "mine.sqlite"))
    assert db_path() == tmp_path / "mine.sqlite"


def test_a_run_round_trips_and_a_restart_keeps_it(tmp_path):
    path = tmp_path / "sub" / "fmnist.sqlite"
    run = a_run(nickname="  ada ")
    rowid = Board(path).record(run)
    assert rowid == 1
    again = Board(path).runs()  # a new Board on the same file, as after a server restart
    assert len(again) == 1
    stored = again[0]
    assert stored.nickname == "ada" and stored.id == 1
    assert {k: v for k, v in vars(stored).items() if k != "id"} == {k: v for k, v in vars(run).items() if k != "id"}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(len(board_mod.MIGRATIONS),)]
        loss = conn.execute("SELECT loss_curve FROM runs").fetchone()[0]
    assert loss == "[0.61,0.38]"  # compact JSON


def test_outcomes_are_the_four_kinds(tmp_path):
    assert a_run(outcome="time limit: this server stops a run after 30 minutes").outcome == "time limit"
    assert a_run(outcome="diverged: loss became nan at step 3").outcome == "diverged"
    with pytest.raises(ValueError, match="outcome must be one of finished, stopped, time limit, diverged"):
        a_run(outcome="exploded")


def test_writers_in_many_threads_lose_nothing(tmp_path, caplog):
    board = Board(tmp_path / "fmnist.sqlite")
    ids: list[int | None] = []
    lock = threading.Lock()

    def student(k: int) -> None:
        for i in range(25):
            rowid = board.record(a_run(batch_size=32 + k, acc=0.5 + i / 100, nickname=f"s{k}-{i}"))
            with lock:
                ids.append(rowid)

    threads = [threading.Thread(target=student, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert None not in ids and len(set(ids)) == 200 and board.problem is None
    names = {r.nickname for r in board.runs()}
    assert names == {f"s{k}-{i}" for k in range(8) for i in range(25)}
    assert "locked" not in caplog.text


WRITER = """
import sys, time
from fmnist.board import Board, make_run
board, start = Board(sys.argv[1]), float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
for i in range(150):
    run = make_run(model="lenet", batch_size=64, epochs=1, lr=0.001, train_images=1000, augment=False, seed=i,
                   device="cpu", train_seconds=1.0, metrics={"accuracy": 0.5}, loss_curve=[1.0], acc_curve=[0.5],
                   outcome="finished", nickname=f"{sys.argv[3]}{i}")
    if board.record(run) is None:
        sys.exit("not recorded: " + str(board.problem))
"""


@pytest.mark.slow
def test_two_processes_on_one_file_lose_nothing(tmp_path):
    path = tmp_path / "fmnist.sqlite"
    start = time.time() + 3  # both begin writing at the same moment
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(start), tag], env=env,
                              stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert not any("locked" in e for e in errors), errors
    names = [r.nickname for r in Board(path).runs()]
    assert sorted(names) == sorted(f"{t}{i}" for t in "ab" for i in range(150))


def test_a_corrupt_file_is_moved_aside_and_a_new_board_started(tmp_path, caplog):
    path = tmp_path / "fmnist.sqlite"
    path.write_bytes(b"this is not a database, it is a student's essay" * 100)
    board = Board(path)
    with caplog.at_level(logging.WARNING, logger="fmnist.board"):
        assert board.record(a_run()) == 1
    aside, = tmp_path.glob("fmnist.sqlite.corrupt-*")
    assert aside.read_bytes().startswith(b"this is not a database")  # kept, never overwritten
    assert len(board.runs()) == 1 and board.problem is None
    assert "moved it to fmnist.sqlite.corrupt-" in caplog.text


def test_a_damaged_database_is_moved_aside(tmp_path):
    path = tmp_path / "fmnist.sqlite"
    board = Board(path)
    for _ in range(40):
        board.record(a_run())
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(path.read_bytes())
    raw[4096 * 2:4096 * 3] = b"\xff" * 4096  # one page of the table overwritten
    path.write_bytes(bytes(raw))
    fresh = Board(path)
    assert fresh.runs() == [] and fresh.problem is None
    aside = sorted(p.name for p in tmp_path.glob("fmnist.sqlite.corrupt-*"))
    assert len(aside) == 3 and aside[1].endswith("-shm") and aside[2].endswith("-wal")  # moved with its journal


def _refuses(board: Board, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="fmnist.board"):
        results = [board.record(a_run()) for _ in range(3)] + [board.clear()]
        listed = board.runs()
    assert results == [None, None, None, None] and listed == []
    assert board.problem and str(board.path) in board.problem
    lines = [r for r in caplog.records if r.name == "fmnist.board"]
    assert len(lines) == 1 and lines[0].getMessage().startswith("class board disabled: ")


def test_a_folder_that_cannot_be_created_disables_the_board(tmp_path, caplog):
    (tmp_path / "afile").write_text("a file where the folder should be")
    _refuses(Board(tmp_path / "afile" / "fmnist.sqlite"), caplog)


def test_a_read_only_system_folder_disables_the_board(caplog):
    _refuses(Board("/sys/fmnist.sqlite"), caplog)  # sysfs refuses new files, even to root


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only folder")
def test_a_read_only_folder_disables_the_board(tmp_path, caplog):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        _refuses(Board(folder / "fmnist.sqlite"), caplog)
    finally:
        folder.chmod(0o755)


class FullDisk(Board):
    """A board whose disk has no room beyond the pages it already has (SQLite's own 'disk is full')."""

    def _connect(self):
        conn = super()._connect()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        return conn


def test_a_full_disk_disables_recording_and_keeps_the_rows(tmp_path, caplog):
    path = tmp_path / "fmnist.sqlite"
    Board(path).record(a_run(nickname="before"))
    full = FullDisk(path)
    with caplog.at_level(logging.ERROR, logger="fmnist.board"):
        results = [full.record(a_run(nickname="x" * 24, sketch={"k" * 20000: 0.5})) for _ in range(3)]
    assert results == [None, None, None] and "full" in full.problem
    assert len([r for r in caplog.records if r.name == "fmnist.board"]) == 1
    assert [r.nickname for r in Board(path).runs()] == ["before"]  # nothing lost, nothing half-written
    assert Board(path).record(a_run()) == 2  # room again: recording resumes


def test_a_board_from_a_newer_app_is_left_alone(tmp_path):
    path = tmp_path / "fmnist.sqlite"
    Board(path).record(a_run())
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    before = path.read_bytes()
    board = Board(path)
    assert board.record(a_run()) is None
    assert "schema version 99, written by a newer version" in board.problem
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    assert path.read_bytes() == before or not list(tmp_path.glob("*.corrupt-*"))


def test_migrations_run_in_order_and_keep_rows(tmp_path, monkeypatch):
    path = tmp_path / "fmnist.sqlite"
    Board(path).record(a_run(nickname="old"))
    monkeypatch.setattr(board_mod, "MIGRATIONS", [*board_mod.MIGRATIONS, "ALTER TABLE runs ADD COLUMN note TEXT"])
    board = Board(path)
    assert [r.nickname for r in board.runs()] == ["old"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
        assert "note" in [c[1] for c in conn.execute("PRAGMA table_info(runs)")]


HOSTILE = ["x'); DROP TABLE runs;--", "<img src=x onerror=f()>", "**bold**", "'; DELETE FROM runs; --",
           "Robert\"; --", "ünïcødé 学生 🙂", "{0}%s%n"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_nicknames_are_stored_as_typed(tmp_path, name):
    board = Board(tmp_path / "fmnist.sqlite")
    board.record(a_run(nickname="first"))
    board.record(a_run(nickname=name))
    assert [r.nickname for r in board.runs()] == ["first", name]  # no SQL ran, nothing else changed


@pytest.mark.parametrize("name, message", [
    ("<img src=x onerror=alert(1)>", "nickname: at most 24 characters, got 28"),
    ("a" * 25, "nickname: at most 24 characters, got 25"),
    ("evil\u202etxt.exe", r"character 5 \(RIGHT-TO-LEFT OVERRIDE\) is not allowed"),
    ("two\nlines", r"character 4 \(U\+000A\) is not allowed"),
    ("nul\x00", r"character 4 \(U\+0000\) is not allowed"),
    ("zero\u200bwidth", r"character 5 \(ZERO WIDTH SPACE\) is not allowed"),
    ("no\u00a0break", r"character 3 \(NO-BREAK SPACE\) is not allowed"),
])
def test_bad_nicknames_are_refused_with_a_reason(name, message):
    with pytest.raises(ValueError, match=message):
        check_nickname(name)
    with pytest.raises(ValueError, match=message):
        a_run(nickname=name)


def test_empty_nicknames_mean_none():
    assert check_nickname("") is None and check_nickname("   ") is None and check_nickname(None) is None
    with pytest.raises(ValueError, match="nickname must be text"):
        check_nickname(12)


def test_csv_has_every_run_and_defuses_formulas(tmp_path):
    import csv
    import io

    board = Board(tmp_path / "fmnist.sqlite")
    board.record(a_run(nickname="=HYPERLINK(\"x\")"))
    board.record(a_run(nickname="ada", batch_size=32))
    rows = list(csv.DictReader(io.StringIO(board.to_csv())))
    assert [r["nickname"] for r in rows] == ["'=HYPERLINK(\"x\")", "ada"]
    assert rows[1]["batch_size"] == "32" and rows[1]["loss_curve"] == "[0.61,0.38]"
    assert set(rows[0]) == {"id", "when", *board_mod._COLUMNS}
    assert runs_csv([]).count("\n") == 1  # the header alone


def test_clear_and_version(tmp_path):
    board = Board(tmp_path / "fmnist.sqlite")
    assert board.version() == (0, 0)
    board.record(a_run())
    board.record(a_run())
    assert board.version() == (2, 2)
    assert board.clear() == 2 and board.runs() == []
    assert board.version() == (0, 2)
    board.record(a_run())
    assert board.version() == (1, 3)  # ids are never reused, so a refresh sees every change


def test_the_class_table_equals_a_hand_computation():
    runs = [a_run(32, 0.90, seconds=100), a_run(32, 0.86, seconds=120), a_run(32, 0.50, outcome="stopped"),
            a_run(64, 0.89, seconds=80), a_run(256, 0.87, seconds=40), a_run(256, 0.91, seconds=50),
            a_run(256, 0.88, seconds=60), a_run(100, 0.93, model="cnn", seconds=300),
            a_run(512, 0.85, seconds=30)]
    table = {(s.model, s.batch_size): s for s in class_table(runs)}
    assert list(table) == [("lenet", 32), ("lenet", 64), ("lenet", 100), ("lenet", 256), ("lenet", 512),
                           ("cnn", 100)]
    s32 = table["lenet", 32]  # the stopped run is not counted
    assert (s32.runs, s32.best_acc, s32.worst_acc) == (2, 0.90, 0.86)
    assert s32.mean_acc == pytest.approx(0.88) and s32.mean_seconds == pytest.approx(110)
    assert s32.seed_acc == pytest.approx(0.8872)
    s256 = table["lenet", 256]
    assert s256.runs == 3 and s256.mean_acc == pytest.approx((0.87 + 0.91 + 0.88) / 3)
    assert (s256.best_acc, s256.worst_acc, s256.mean_seconds) == (0.91, 0.87, pytest.approx(50))
    assert s256.seed_acc == pytest.approx(SEED_ACCURACY[256] / 100)
    assert table["lenet", 100].runs == 0 and table["lenet", 100].mean_acc is None  # the seed's rows stay
    assert table["cnn", 100].seed_acc is None and table["lenet", 512].seed_acc is None
    rows = board_mod.table_rows(class_table(runs))
    assert rows[1] == ["32", "lenet", "2", "88.00 %", "90.00 %", "86.00 %", "110 s", "88.72 %"]
    assert rows[3] == ["100", "lenet", "0", "—", "—", "—", "—", "89.76 %"]


def test_best_runs_by_test_and_by_drawings():
    runs = [BoardRun(**{**vars(a_run(nickname=n, acc=acc, sketch=sk)), "id": i})
            for i, (n, acc, sk) in enumerate([("a", 0.90, {"outline": 0.5, "filled": 0.9}),
                                              ("b", 0.92, {"outline": 0.3, "filled": 0.5}),
                                              ("c", 0.90, {"outline": 0.8, "filled": 0.8}),
                                              ("d", 0.70, {})], start=1)]
    assert [r.nickname for r in best_runs(runs, "test", 3)] == ["b", "a", "c"]  # a before c: earlier
    assert [r.nickname for r in best_runs(runs, "drawings")] == ["c", "a", "b"]  # d measured no drawings
    with pytest.raises(ValueError, match="key must be"):
        best_runs(runs, "speed")
