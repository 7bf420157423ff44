"""The Class tab (demo.class_tab): runs from the Train tab land on the board with their session's nickname,
a broken board never breaks a run, the views and figures, the refresh that skips when nothing changed, the
teacher controls behind the admin token; then the running app with two students training at once."""

from __future__ import annotations

import logging
import time

import gradio as gr
import pytest

from conftest import legend_as_read, write_idx_dataset
from demo import class_tab
from fmnist.board import Board
from fmnist.data import load_fashion_mnist
from test_board import a_run


@pytest.fixture
def fresh_board(tmp_path, monkeypatch):
    board = Board(tmp_path / "class.sqlite")
    monkeypatch.setattr(class_tab, "board", lambda: board)
    return board


@pytest.fixture
def small_data(tmp_path, monkeypatch):
    from demo import training

    data = load_fashion_mnist(write_idx_dataset(tmp_path / "d", n_train=1000, n_test=200))
    monkeypatch.setattr(training, "dataset", lambda: data)
    return data


FORM = dict(batch_size=100, epochs=1, lr=0.001, model="lenet", seed=0, images=1000, augment=False, nickname="")


def train(session: str, stop_after: int | None = None, **settings):
    """A run as the Start button makes it (the form checked, the nickname with the session) -> its updates."""
    from demo import stopping
    from demo.train_tab import Session, settings_problems, train_session

    values = {**FORM, **settings}
    cfg, problems = settings_problems(values)
    assert not problems, problems
    token = stopping.new_token(session)
    updates = []
    try:
        for update in train_session(cfg, Session(session, nickname=values["nickname"].strip() or None), token):
            updates.append(update)
            if len(updates) == stop_after:
                stopping.request_stop(session)
    finally:
        stopping.release(session, token)
    return updates


@pytest.mark.slow
def test_a_finished_run_is_recorded_with_its_sessions_nickname(fresh_board, small_data):
    final = train("alice", batch_size=50, epochs=2, seed=3, nickname=" <img src=x onerror=f()> ")[-1]
    assert final["status"].startswith("✅ Finished")
    run, = fresh_board.runs()
    assert (run.nickname, run.batch_size, run.epochs, run.epochs_done, run.train_images, run.seed) == (
        "<img src=x onerror=f()>", 50, 2, 2, 1000, 3)
    assert run.outcome == "finished" and run.device.startswith("cpu") and run.train_seconds > 0
    assert run.test_accuracy == pytest.approx(final["runs_state"][0].accuracy)
    assert len(run.loss_curve) == 2 and len(run.acc_curve) == 2 and len(run.per_class_accuracy) == 10
    assert set(run.sketch_accuracy) >= {"outline", "filled"}


@pytest.mark.slow
def test_a_stopped_run_is_recorded_as_stopped_without_a_nickname(fresh_board, small_data):
    updates = train("carol", stop_after=2, batch_size=10, epochs=5)
    assert [u["status"] for u in updates if "status" in u][-1].startswith("⏹ Stopped early")
    stored, = fresh_board.runs()
    assert stored.outcome == "stopped" and stored.nickname is None and stored.epochs_done < 5


def test_a_bad_nickname_is_explained_next_to_its_field_and_nothing_starts():
    from demo.train_tab import settings_problems

    assert class_tab.nickname_problem("ada") == "" and class_tab.nickname_problem("") == ""
    cfg, problems = settings_problems({**FORM, "nickname": "x" * 30})
    assert cfg is None and problems == {"nickname": "nickname: at most 24 characters, got 30."}
    assert "is not allowed" in settings_problems({**FORM, "nickname": "a\u202eb"})[1]["nickname"]


@pytest.mark.slow
def test_a_broken_board_never_breaks_a_run(tmp_path, monkeypatch, small_data, caplog):
    (tmp_path / "afile").write_text("")
    broken = Board(tmp_path / "afile" / "fmnist.sqlite")
    monkeypatch.setattr(class_tab, "board", lambda: broken)
    with caplog.at_level(logging.ERROR):
        for seed in (0, 1):
            final = train("erin", seed=seed)[-1]
            assert final["status"].startswith("✅ Finished") and len(final["models_state"]) == 1
            assert "not put on the class board" in final["status"]  # the student is told
    assert [r.getMessage()[:22] for r in caplog.records] == ["class board disabled: "]  # one line for two runs
    off_note, *_ = class_tab.refresh()
    assert off_note["visible"] is True and "board is off" in off_note["value"]
    assert class_tab.record_run(model="lenet") != ""  # even a malformed call only returns a note


def test_the_view_shows_the_table_figures_and_best_runs(fresh_board):
    for batch, acc in ((32, 0.90), (32, 0.86), (256, 0.88)):
        fresh_board.record(a_run(batch, acc, nickname=f"bs{batch}-{acc}"))
    fresh_board.record(a_run(64, 0.40, outcome="stopped", nickname="**bold**"))
    off_note, summary, table, acc_fig, loss_fig, best_test, best_drawings, seen = class_tab.refresh()
    assert off_note["visible"] is False and seen == [4, 4]
    assert summary.startswith("**4 runs on the board** (1 stopped")
    row32 = table[table["batch size"] == "32"].iloc[0].tolist()
    assert row32 == ["32", "lenet", "2", "88.00 %", "90.00 %", "86.00 %", "10 s", "88.72 %"]
    dots = acc_fig.axes[0].collections[0].get_offsets()
    assert sorted(map(tuple, dots.tolist())) == [(32, 86.0), (32, 90.0), (256, 88.0)]  # finished runs, a dot each
    mean_line = next(l for l in acc_fig.axes[0].lines if l.get_label() == "mean")
    assert list(mean_line.get_xdata()) == [32, 256] and list(mean_line.get_ydata()) == pytest.approx([88.0, 88.0])
    lines = loss_fig.axes[0].lines
    assert len(lines) == 4  # every run's loss curve, stopped ones too
    colours = {}
    for line, batch in zip(lines, (32, 32, 256, 64)):
        colours.setdefault(batch, set()).add(line.get_color() if isinstance(line.get_color(), str)
                                              else tuple(line.get_color()))
    assert all(len(c) == 1 for c in colours.values()) and len({next(iter(c)) for c in colours.values()}) == 3
    assert legend_as_read(loss_fig) == ["batch 32", "batch 64", "batch 256"]  # one name a batch size, in order
    assert best_test.data["nickname"].tolist() == ["bs32-0.9", "bs256-0.88", "bs32-0.86", "**bold**"]
    assert best_test.data["test acc %"].tolist()[0] == 90.0


def test_the_timer_redraws_only_when_the_board_changed(fresh_board):
    fresh_board.record(a_run())
    seen = class_tab.refresh()[-1]
    assert all(isinstance(x, type(gr.skip())) and x == gr.skip() for x in class_tab.tick(seen))
    fresh_board.record(a_run(64))
    changed = class_tab.tick(seen)
    assert changed[-1] == [2, 2] and changed[1].startswith("**2 runs")
    fresh_board.clear()
    assert class_tab.tick(changed[-1])[-1] == [0, 2]


def test_admin_controls_need_the_token(fresh_board, monkeypatch, caplog):
    monkeypatch.setattr(class_tab, "WRONG_TOKEN_DELAY_S", 0)
    fresh_board.record(a_run(nickname="ada"))
    monkeypatch.delenv("FMNIST_ADMIN_TOKEN", raising=False)
    assert class_tab.is_admin("") is False and class_tab.is_admin("anything") is False  # unset: nobody
    secret = "s3cret-Token-5f2a"
    monkeypatch.setenv("FMNIST_ADMIN_TOKEN", secret)
    with caplog.at_level(logging.DEBUG):
        for wrong in ("", "s3cret", secret + "x", None, 12):
            assert class_tab.is_admin(wrong) is False
            for download in (class_tab.download_csv, class_tab.download_drawings):
                file, message = download(wrong)
                assert file["visible"] is False and message == "❌ Wrong admin token."
            assert class_tab.ask_clear_drawings(wrong)[2] == class_tab.confirm_clear_drawings(wrong)[1] == (
                "❌ Wrong admin token.")
            row, _, message = class_tab.ask_clear(wrong)
            assert row["visible"] is False and message == "❌ Wrong admin token."
            assert class_tab.confirm_clear(wrong)[1] == "❌ Wrong admin token."
        assert len(fresh_board.runs()) == 1
        file, message = class_tab.download_csv(secret)
        text = open(file["value"], encoding="utf-8").read()
        assert text.splitlines()[0].startswith("id,when,nickname,") and ",ada," in text and message.startswith("1 run")
        row, text, _ = class_tab.ask_clear(secret)
        assert row["visible"] is True and "Delete all 1 run(s)" in text
        assert len(fresh_board.runs()) == 1  # asking deletes nothing
        row, message = class_tab.confirm_clear(secret)
        assert message == "Cleared: 1 run(s) deleted." and fresh_board.runs() == []
    assert secret not in caplog.text and "s3cret" not in caplog.text


def test_the_token_is_compared_in_constant_time(monkeypatch):
    import hmac

    calls = []
    monkeypatch.setattr(class_tab, "WRONG_TOKEN_DELAY_S", 0)
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or a == b)
    monkeypatch.setenv("FMNIST_ADMIN_TOKEN", "right")
    assert class_tab.is_admin("wrong") is False and calls == [(b"wrong", b"right")]  # compared by hmac


def _elem_ids(blocks) -> set[str]:
    return {b.elem_id for b in blocks.blocks.values() if getattr(b, "elem_id", None)}


def test_teacher_controls_only_with_a_token(monkeypatch):
    from demo.layout import build_demo

    monkeypatch.delenv("FMNIST_ADMIN_TOKEN", raising=False)
    ids = _elem_ids(build_demo())
    assert {"class-table", "class-acc", "class-loss", "best-test", "best-drawings", "nickname"} <= ids
    assert "teacher" not in ids and "board-clear" not in ids and "drawings-download" not in ids
    assert {"drawings-summary", "drawings-table", "drawings-mistakes", "drawn-as", "keep"} <= ids
    monkeypatch.setenv("FMNIST_ADMIN_TOKEN", "t0ken")
    assert {"teacher", "board-clear", "board-download", "drawings-download", "drawings-clear",
            "admin-token"} <= _elem_ids(build_demo())


def test_the_teacher_downloads_the_class_s_drawings_as_one_zip(tmp_path, monkeypatch):
    import zipfile
    from itertools import islice

    from fmnist.collected import FOLDERS, add_drawing, read_drawing
    from fmnist.sketches import iter_designs

    monkeypatch.setattr(class_tab, "WRONG_TOKEN_DELAY_S", 0)
    monkeypatch.setenv("FMNIST_ADMIN_TOKEN", "t0ken")
    monkeypatch.setenv("FMNIST_DRAWINGS", str(tmp_path / "drawings"))
    file, message = class_tab.download_drawings("t0ken")
    assert file["visible"] is False and message.startswith("❌") and "no drawings to download yet" in message
    kept = list(islice(iter_designs(seed=4), 0, 1044, 200))
    paths = [add_drawing(tmp_path / "drawings", s.canvas, s.label)[0] for s in kept]
    file, message = class_tab.download_drawings("t0ken")
    assert file["visible"] is True and message.startswith(f"{len(kept)} drawing(s) in the file")
    with zipfile.ZipFile(file["value"]) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "unzipped")
    assert sorted(names) == sorted(f"{p.parent.name}/{p.name}" for p in paths)
    assert all(n.split("/")[0] in FOLDERS for n in names)
    for p in paths:  # the same drawings, pixel for pixel
        assert (read_drawing(tmp_path / "unzipped" / p.parent.name / p.name) == read_drawing(p)).all()
    # then deleted, in two steps: asking deletes nothing; a wrong token nothing either
    (tmp_path / "drawings" / "notes.txt").write_text("the teacher's own file stays")
    row, text, _ = class_tab.ask_clear_drawings("t0ken")
    assert row["visible"] is True and f"Delete all {len(kept)} of the class's drawings" in text
    assert all(p.exists() for p in paths)
    assert class_tab.confirm_clear_drawings("nope")[1] == "❌ Wrong admin token." and all(p.exists() for p in paths)
    row, message = class_tab.confirm_clear_drawings("t0ken")
    assert row["visible"] is False and message == f"Deleted: {len(kept)} drawing(s)."
    assert not any(p.exists() for p in paths) and (tmp_path / "drawings" / "notes.txt").exists()
    assert class_tab.drawings_view()[0] == class_tab.DRAWINGS_NONE


@pytest.mark.slow
def test_two_students_train_at_once_and_a_third_sees_both_even_after_a_restart(tmp_path):
    from gradio_client import Client

    from demo.loadtest import start_app

    data = write_idx_dataset(tmp_path / "fm", n_train=2000, n_test=200)
    env = {"FMNIST_DATA": str(data), "FMNIST_DB": str(tmp_path / "class.sqlite"), "FMNIST_MAX_TRAININGS": "2"}
    proc, url = start_app(env)
    try:
        students = {name: Client(url, verbose=False) for name in ("ada", "bo")}
        jobs = {name: c.submit(50, 3, 0.001, "lenet", i, 2000, False, name, api_name="/train")
                for i, (name, c) in enumerate(students.items())}
        deadline = time.time() + 240
        while not all(j.done() for j in jobs.values()) and time.time() < deadline:
            time.sleep(0.1)
        statuses = [out[0] for j in jobs.values() for out in j.outputs() if out and isinstance(out[0], str)]
        both_running = not any("Waiting for a training slot" in s for s in statuses)
        finals = {n: j.outputs()[-1][0] for n, j in jobs.items()}
        assert all(s.startswith("✅ Finished") for s in finals.values()), finals
        assert both_running  # they trained at the same time, not one after the other
        best = Client(url, verbose=False).predict(api_name="/class_board")[5]
        assert sorted(row[1] for row in best["data"]) == ["ada", "bo"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    proc, url = start_app(env)  # a restart of the server
    try:
        off_note, summary, table, *_ = Client(url, verbose=False).predict(api_name="/class_board")
        assert summary.startswith("**2 runs on the board**")
        row50 = next(r for r in table["data"] if r[0] == "50")
        assert row50[2] == "2"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_server_that_keeps_no_drawings_says_so_everywhere(monkeypatch, tmp_path, capsys):
    """FMNIST_DRAWINGS=off (a public server): no question under the answer, a line on the Class tab, and every way
    in (the handler, the teacher's buttons, the CLI without a folder) says so; nothing is written anywhere."""
    from demo import predict_tab
    from demo.layout import build_demo
    from demo.sketch_canvas import pad_value
    from fmnist.__main__ import main
    from test_app import stroke_layer

    monkeypatch.setattr(class_tab, "WRONG_TOKEN_DELAY_S", 0)
    monkeypatch.setenv("FMNIST_ADMIN_TOKEN", "t0ken")
    monkeypatch.setenv("FMNIST_DRAWINGS", "off")
    monkeypatch.chdir(tmp_path)
    demo = build_demo()
    shown = {b.elem_id: b.visible for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    assert shown["keep-drawing"] is False and shown["keep-message"] is False
    message, _, kept = predict_tab.keep_drawing(pad_value(stroke_layer()), "Coat", 0)
    assert "this server keeps no drawings" in message and kept == 0
    summary, table, plot, seen = class_tab.drawings_view()
    assert summary == class_tab.DRAWINGS_OFF and table["visible"] is False and plot["visible"] is False
    assert all(v == gr.skip() for v in class_tab.drawings_view(seen, force=False))  # the tick sends nothing more
    assert "keeps no drawings" in class_tab.download_drawings("t0ken")[1]
    assert "keeps no drawings" in class_tab.ask_clear_drawings("t0ken")[2]
    assert "keeps no drawings" in class_tab.confirm_clear_drawings("t0ken")[1]
    assert main(["evaluate", "lenet", "--collected"]) == 2
    assert capsys.readouterr().err == "error: --collected: this server keeps no drawings (FMNIST_DRAWINGS=off)\n"
    assert not any(tmp_path.rglob("*.png"))
