"""`python -m fmnist train --record` and `python -m fmnist runs`: the class board from a terminal."""

from __future__ import annotations

import csv
import io

import pytest

from conftest import write_idx_dataset
from fmnist.board import Board
from test_board import a_run
from test_cli import fmnist


@pytest.mark.slow
def test_train_records_and_runs_prints_the_table(tmp_path):
    data = write_idx_dataset(tmp_path / "fm", n_train=600, n_test=200)
    db = tmp_path / "class" / "fmnist.sqlite"
    res = fmnist("train", "--subset", "300", "--epochs", "2", "--batch-size", "32", "--data-dir", str(data),
                 "--out", "run", "--quiet", "--record", "--nickname", "**bold**", "--db", str(db), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"recorded on the class board {db} as run 1" in res.stdout
    run, = Board(db).runs()
    assert (run.nickname, run.batch_size, run.epochs_done, run.train_images, run.outcome) == (
        "**bold**", 32, 2, 300, "finished")
    assert len(run.loss_curve) == 2 and len(run.per_class_accuracy) == 10 and set(run.sketch_accuracy) == {
        "outline", "outline+fill", "filled", "designs", "coloured", "printed"}
    Board(db).record(a_run(64, 0.9))
    Board(db).record(a_run(64, 0.8))
    res = fmnist("runs", "--db", str(db), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"{db}: 3 run(s), 3 finished (the table counts finished runs)"
    assert lines[1].startswith("| batch size | model | runs | mean test acc | best | worst | mean time |")
    assert "| 64 | lenet | 2 | 85.00 % | 90.00 % | 80.00 % | 10 s | 88.94 % |" in lines
    assert f"| 32 | lenet | 1 | {run.test_accuracy * 100:.2f} % |" in res.stdout
    assert "**bold**: lenet bs32" in res.stdout  # as typed: a terminal renders no markdown
    res = fmnist("runs", "--db", str(db), "--csv", cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["batch_size"] for r in rows] == ["32", "64", "64"] and rows[0]["nickname"] == "**bold**"


@pytest.mark.slow
def test_runs_uses_fmnist_db_and_says_when_there_is_no_board(tmp_path):
    res = fmnist("runs", cwd=tmp_path)  # runs/fmnist.sqlite under an empty folder
    assert res.returncode == 2 and "no class board at runs/fmnist.sqlite yet" in res.stderr
    assert not (tmp_path / "runs").exists()  # reading creates nothing


@pytest.mark.slow
def test_a_bad_nickname_is_refused_before_training(tmp_path):
    res = fmnist("train", "--record", "--nickname", "x" * 30, cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.strip() == "error: nickname: at most 24 characters, got 30"
    res = fmnist("train", "--nickname", "ada", cwd=tmp_path)
    assert res.returncode == 2 and "add --record" in res.stderr


@pytest.mark.slow
def test_an_unwritable_board_warns_and_the_run_still_succeeds(tmp_path):
    data = write_idx_dataset(tmp_path / "fm", n_train=300, n_test=100)
    (tmp_path / "afile").write_text("")
    res = fmnist("train", "--subset", "100", "--epochs", "1", "--data-dir", str(data), "--out", "run", "--quiet",
                 "--record", "--db", str(tmp_path / "afile" / "fmnist.sqlite"), cwd=tmp_path)
    assert res.returncode == 0 and (tmp_path / "run" / "model.pt").exists()
    assert "warning: not recorded on the class board:" in res.stderr
    assert res.stderr.count("class board disabled") == 1  # the library's one log line
