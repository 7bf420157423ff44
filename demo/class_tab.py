"""The Class tab: the class board (fmnist.board) for everyone on the server — the seed's table rebuilt from
the class's runs, accuracy against batch size, everyone's loss curves and the best runs — refreshed while
the tab is open; teacher controls behind FMNIST_ADMIN_TOKEN. Also the Train tab's two hooks into the
board: the nickname box and record_run()."""

from __future__ import annotations

import hmac
import logging
import os
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler
from PIL import Image

from demo.models import all_models, shipped_model, shown_name
from demo.tables import fixed_decimals
from fmnist import report
from fmnist.board import (NICKNAME_MAX, SEED_ACCURACY, Board, BoardRun, best_runs, check_nickname, class_table,
                          make_run, table_rows)
from fmnist.data import CLASS_NAMES
from fmnist.collected import (CollectionError, collected_accuracy, collection_folder, collection_version,
                              clear_collection, collecting, count_drawings, load_collection, read_drawing, write_archive)
from fmnist.preprocess import ImageError

log = logging.getLogger(__name__)

CLASS_TAB = "Class"  # the tab's label, as the Tabs' select event reports it
REFRESH_S = 5.0  # seconds between looks at the board while the tab is open (a look is ~1 ms when unchanged)
BEST_N = 5
WRONG_TOKEN_DELAY_S = 1.0  # a wrong admin token waits this long, so guessing is slow
OFF_NOTE = ("**The class board is off on this server**: its database cannot be opened or written just now "
            "(the server's log says why). Training works as usual, but runs are not recorded.")
INTRO = """Every run trained on this server — in any browser, or with `python -m fmnist train --record` —
lands here, so the class can rebuild the seed's experiment together: pick a batch size in the **Train** tab,
type a nickname if you like, train, and compare."""
BEST_COLUMNS = ["#", "nickname", "model", "batch size", "epochs", "test acc %", "drawings %", "when (UTC)"]

@lru_cache(maxsize=1)
def board() -> Board:
    """The server's board (FMNIST_DB, read at first use), shared by all sessions."""
    return Board()


def admin_token() -> str | None:
    """FMNIST_ADMIN_TOKEN, or None when it is unset or blank (then there are no teacher controls)."""
    token = os.environ.get("FMNIST_ADMIN_TOKEN", "").strip()
    return token or None


def is_admin(given) -> bool:
    """Whether `given` is the admin token (compared in constant time; a wrong one costs a second)."""
    token = admin_token()
    ok = bool(token) and isinstance(given, str) and hmac.compare_digest(given.strip().encode(), token.encode())
    if not ok:
        time.sleep(WRONG_TOKEN_DELAY_S)
    return ok


# -- the Train tab's hooks ----------------------------------------------------------------------------------
def nickname_box() -> tuple[gr.Textbox, gr.Markdown]:
    """The student's nickname for the class board and the line that says what is wrong with it, laid out where
    it is called (the Train tab checks it with the other settings: nickname_problem)."""
    box = gr.Textbox("", label=f"Nickname on the class board (optional, at most {NICKNAME_MAX} characters)",
                     max_length=NICKNAME_MAX * 2, placeholder="not your real name", elem_id="nickname")
    return box, gr.Markdown(elem_id="nickname-message", elem_classes="field-problem")


def nickname_problem(text) -> str:
    """"" for a usable nickname (or none), else what is wrong with it, in words."""
    try:
        check_nickname(text)
    except ValueError as err:
        return f"{err}."
    return ""


def record_run(**run) -> str:
    """Put a finished run on the class board: fmnist.board.make_run's plain values (config fields, metrics,
    curves, outcome, seconds, device, nickname). Never raises; returns "" when recorded, else a short note."""
    try:
        try:
            row = make_run(**run)
        except ValueError as err:
            if run.get("nickname") is None:
                raise
            log.warning("class board: nickname refused (%s); recorded without it", err)
            row = make_run(**{**run, "nickname": None})
        if board().record(row) is not None:
            return ""
    except Exception:  # whatever goes wrong here, the student's run has finished and must stay so
        log.exception("class board: the run was not recorded")
    return "This run was not put on the class board (the board is off on this server)."


# -- what the tab shows -------------------------------------------------------------------------------------
def seed_table_frame(runs: list[BoardRun]) -> pd.DataFrame:
    rows = table_rows(class_table(runs))
    return pd.DataFrame(rows[1:], columns=rows[0])


def best_frame(runs: list[BoardRun], key: str) -> Styler:
    """The best BEST_N runs by `key` as the table shows them (`.data`: the frame itself)."""
    rows = [[i, r.nickname or "", r.model, r.batch_size, r.epochs_done, round(r.test_accuracy * 100, 2),
             None if r.drawings_accuracy is None else round(r.drawings_accuracy * 100, 1),
             r.when.replace("T", " ")[:16]] for i, r in enumerate(best_runs(runs, key, BEST_N), 1)]
    return fixed_decimals(pd.DataFrame(rows, columns=BEST_COLUMNS), {"test acc %": 2, "drawings %": 1})


def board_view(seen=None, force: bool = True):
    """Everything the tab shows, as a tuple for its outputs (the board's version last). Unchanged since
    `seen` and not forced: gr.skip() for each, so an idle tab costs one small query a tick."""
    current = board().version()
    problem = board().problem
    if not force and current is not None and current == (tuple(seen) if seen else None):
        return tuple(gr.skip() for _ in range(8))
    runs = board().runs() if current is not None else []
    finished = [r for r in runs if r.outcome == "finished"]
    others = len(runs) - len(finished)
    summary = (f"**{len(runs)} run{'s' if len(runs) != 1 else ''} on the board**"
               + (f" ({others} stopped, diverged or cut by the time limit: not counted in the table)" if others else "")
               + ". The seed's figures are for its LeNet (with its double-softmax bug).")
    points = [(r.batch_size, r.test_accuracy * 100) for r in finished]
    curves = [(r.batch_size, r.loss_curve) for r in runs]
    return (gr.update(value=OFF_NOTE, visible=problem is not None), summary, seed_table_frame(runs),
            report.class_accuracy_figure(points, SEED_ACCURACY), report.class_loss_figure(curves),
            best_frame(runs, "test"), best_frame(runs, "drawings")) + (list(current) if current else None,)


def refresh(seen=None):
    """The Refresh button: read and redraw everything."""
    return board_view(seen, force=True)


def tick(seen=None):
    """The timer, while the tab is open: redraw only when the board changed."""
    return board_view(seen, force=False)


# -- the class's drawings ------------------------------------------------------------------------------------
DRAWINGS_INTRO = ("### The class's drawings\nDrawings added in the **Predict** tab (\u201cWhat did you draw?\u201d), "
                  "and how the shipped models do on them: the network never trains on them, so they show how well it "
                  "knows drawings made by people, not by our code. The teacher can score any checkpoint on them with "
                  "`python -m fmnist evaluate CHECKPOINT --collected`.")
DRAWINGS_OFF = "This server keeps no drawings (its teacher set `FMNIST_DRAWINGS=off`)."
DRAWINGS_LOOKING = "Looking at the class's drawings…"
DRAWINGS_NONE = "No drawings yet: draw a garment in the **Predict** tab, say what it is and add it."
MISTAKES_SHOWN = 8
THUMB = 160  # pixels a side of a drawing in the mistakes figure
_drawings_lock = threading.Lock()
_drawings_cache: dict = {}  # fmnist.collected.load_collection's per-file cache, shared by every session
_answers_cache: dict = {}  # {model name: collected_accuracy's cache}: each drawing goes through each model once
_drawings_memo: dict = {}  # {"version": ..., "view": ...}: the last view, shared while the folder is unchanged


def drawings_view(seen=None, force: bool = True):
    """The drawings section's outputs (summary, per-class table, the default's surest mistakes) and the folder's
    version last. Unchanged since `seen` and not forced: gr.skip() for each (a tick costs ten stat calls); not
    forced, the last view of an unchanged folder is shared by every session; forced (Refresh), scored again. While
    another call is scoring them, gr.skip() too: a tick never waits, so it never holds a place in the queue."""
    try:
        folder = collection_folder()
    except CollectionError:
        if not force and seen == "off":
            return tuple(gr.skip() for _ in range(4))
        return DRAWINGS_OFF, gr.update(visible=False), gr.update(visible=False), "off"
    version = list(collection_version(folder))
    if not force and seen is not None and list(seen) == version:
        return tuple(gr.skip() for _ in range(4))
    if not _drawings_lock.acquire(blocking=False):  # being scored (after a restart: up to a minute): look next tick
        return tuple(gr.skip() for _ in range(4))
    try:
        if force or _drawings_memo.get("version") != version:  # Refresh looks again (a folder's clock is coarse)
            _drawings_memo.update(version=version, view=_score_drawings(folder))
        view = _drawings_memo["view"]
    finally:
        _drawings_lock.release()
    return (*view, version)


def _score_drawings(folder: Path) -> tuple:
    names = all_models({})
    empty = pd.DataFrame(columns=["class", "drawings", *(shown_name(n) for n in names)])
    try:
        collection = load_collection(folder, _drawings_cache)
    except CollectionError:
        return DRAWINGS_NONE, empty, gr.update(value=None, visible=False)
    results = {}
    for name in names:
        model, meta = shipped_model(name)
        results[name] = collected_accuracy(model, meta["normalization"], collection,
                                           _answers_cache.setdefault(name, {}))
    first = results[names[0]]
    drawn = sum(1 for n in first["per_class_n"].values() if n)
    summary = (f"**{first['n']} drawing{'s' if first['n'] != 1 else ''} from the class** ({drawn} of 10 classes). "
               + "; ".join(f"{shown_name(n)}: **{r['accuracy'] * 100:.1f} %** right (class-balanced "
                           f"{r['balanced_accuracy'] * 100:.1f} %)" for n, r in results.items()) + ".")
    if collection.skipped:
        summary += f" {len(collection.skipped)} file(s) in the folder are not drawings the app can read (left out)."
    rows = [[cls, n, *(_right(r, cls) for r in results.values())] for cls, n in first["per_class_n"].items()]
    frame = pd.DataFrame(rows, columns=list(empty.columns))
    wrong = [m for m in first["mistakes"] if m["predicted"] is not None][:MISTAKES_SHOWN]
    if not wrong:
        return summary, frame, gr.update(value=None, visible=False)
    figure = report.samples_figure(
        np.stack([_thumbnail(folder / m["file"]) for m in wrong]), [CLASS_NAMES.index(m["label"]) for m in wrong],
        [CLASS_NAMES.index(m["predicted"]) for m in wrong], cols=4,
        confidence=[m["probability"] for m in wrong],
        title=f"Wrong, and sure of it: the class's drawings\n{shown_name(names[0])} got wrong most confidently")
    return summary, frame, gr.update(value=figure, visible=True)


def _right(result: dict, cls: str) -> str:
    """A model's figure for one class of drawings: "7 of 9 (78 %)", or "" when there is no drawing of it."""
    n, acc = result["per_class_n"][cls], result["per_class_accuracy"][cls]
    return "" if not n else f"{round(acc * n)} of {n} ({acc * 100:.0f} %)"


def _thumbnail(path: Path) -> np.ndarray:
    """A kept drawing as it looked on the pad: its ink on white, THUMB pixels a side (grey uint8)."""
    try:
        rgba = Image.fromarray(read_drawing(path))
    except ImageError:
        return np.full((THUMB, THUMB), 255, np.uint8)
    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(paper, rgba).convert("L").resize((THUMB, THUMB), Image.LANCZOS))


# -- teacher controls ---------------------------------------------------------------------------------------
def download_csv(token):
    """All runs as a CSV file, for the admin token only."""
    if not is_admin(token):
        return gr.update(value=None, visible=False), "❌ Wrong admin token."
    text = board().to_csv()
    if text is None:
        return gr.update(value=None, visible=False), "❌ The board is off: " + (board().problem or "")
    path = Path(tempfile.mkdtemp(prefix="fmnist-board-")) / f"class-board-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    path.write_text(text, encoding="utf-8")
    return gr.update(value=str(path), visible=True), f"{text.count(chr(10)) - 1} run(s) in the file."


def download_drawings(token):
    """The class's drawings as one zip file (a sub-folder a class), for the admin token only."""
    if not is_admin(token):
        return gr.update(value=None, visible=False), "❌ Wrong admin token."
    path = Path(tempfile.mkdtemp(prefix="fmnist-drawings-")) / f"class-drawings-{time.strftime('%Y%m%d-%H%M%S')}.zip"
    try:
        n = write_archive(collection_folder(), path)
    except CollectionError as err:
        return gr.update(value=None, visible=False), f"❌ {err}"
    return gr.update(value=str(path), visible=True), (f"{n} drawing(s) in the file, a folder a class: score a "
                                                      "checkpoint on them with `python -m fmnist evaluate CHECKPOINT "
                                                      "--collected FOLDER` once unzipped.")


def ask_clear_drawings(token):
    """First step of deleting the class's drawings: show the confirmation, naming how many would go."""
    if not is_admin(token):
        return gr.update(visible=False), "", "❌ Wrong admin token."
    try:
        count = sum(count_drawings(collection_folder()).values())
    except CollectionError as err:
        return gr.update(visible=False), "", f"❌ {err}"
    return (gr.update(visible=True), f"**Delete all {count} of the class's drawings, for everyone?** This cannot be "
                                     "undone (download the zip first to keep them).", "")


def confirm_clear_drawings(token):
    """Second step: the teacher confirmed; delete the drawings (the token is checked again)."""
    if not is_admin(token):
        return gr.update(visible=False), "❌ Wrong admin token."
    try:
        deleted = clear_collection(collection_folder())
    except CollectionError as err:
        return gr.update(visible=False), f"❌ {err}"
    log.info("the class's drawings deleted by the teacher (%d)", deleted)
    return gr.update(visible=False), f"Deleted: {deleted} drawing(s)."


def ask_clear(token):
    """First step of clearing: show the confirmation, naming how many runs would go."""
    if not is_admin(token):
        return gr.update(visible=False), "", "❌ Wrong admin token."
    count = (board().version() or (0, 0))[0]
    return (gr.update(visible=True), f"**Delete all {count} run(s) on the board, for everyone?** This cannot be "
                                     "undone (download the CSV first to keep them).", "")


def confirm_clear(token):
    """Second step: the teacher confirmed; clear the board (the token is checked again)."""
    if not is_admin(token):
        return gr.update(visible=False), "❌ Wrong admin token."
    deleted = board().clear()
    if deleted is None:
        return gr.update(visible=False), "❌ The board is off: " + (board().problem or "")
    log.info("class board cleared by the teacher (%d runs)", deleted)
    return gr.update(visible=False), f"Cleared: {deleted} run(s) deleted."


def build_class_tab(tabs: gr.Tabs) -> None:
    """Lay out the Class tab inside the current Blocks and wire its events; `tabs` is the app's Tabs, whose
    select event starts the refresh timer when this tab opens and stops it when another one does."""
    seen = gr.State(None)
    gr.Markdown(INTRO)
    off_note = gr.Markdown(OFF_NOTE, visible=False, elem_id="board-off")
    with gr.Row():
        summary = gr.Markdown(elem_id="board-summary")
        refresh_button = gr.Button("Refresh", size="sm", scale=0, elem_id="board-refresh")
    table = gr.Dataframe(seed_table_frame([]), label="The seed's table, rebuilt from the class's finished runs",
                         interactive=False, elem_id="class-table")
    with gr.Row():
        acc_plot = gr.Plot(label="Test accuracy by batch size", show_label=False, elem_id="class-acc")
        loss_plot = gr.Plot(label="Everyone's loss curves", show_label=False, elem_id="class-loss")
    with gr.Column():
        best_test = gr.Dataframe(pd.DataFrame(columns=BEST_COLUMNS), label="Best runs by test accuracy",
                                 datatype=["number", "str", "str", "number", "number", "number", "number", "str"],
                                 interactive=False, elem_id="best-test")
        best_drawings = gr.Dataframe(pd.DataFrame(columns=BEST_COLUMNS), label="Best runs on drawings",
                                     datatype=["number", "str", "str", "number", "number", "number", "number", "str"],
                                     interactive=False, elem_id="best-drawings")
    drawings_seen = gr.State(None)
    gr.Markdown(DRAWINGS_INTRO, elem_id="drawings-intro")
    drawings_summary = gr.Markdown(DRAWINGS_LOOKING, elem_id="drawings-summary")
    drawings_table = gr.Dataframe(pd.DataFrame(columns=["class", "drawings"]), label="The class's drawings, by class",
                                  interactive=False, elem_id="drawings-table")
    drawings_mistakes = gr.Plot(format="png", label="The default's surest mistakes on the class's drawings",
                                show_label=False, visible=False, elem_id="drawings-mistakes")
    drawings = [drawings_summary, drawings_table, drawings_mistakes, drawings_seen]
    # Score the drawings kept before a restart now, so the first look at the tab need not (20,000 take about a minute).
    if collecting():
        threading.Thread(target=drawings_view, kwargs={"force": False}, daemon=True, name="class-drawings").start()
    if admin_token():
        with gr.Accordion("Teacher", open=False, elem_id="teacher"):
            token = gr.Textbox(type="password", label="Admin token (FMNIST_ADMIN_TOKEN)", elem_id="admin-token")
            with gr.Row():
                download = gr.Button("Download all runs (CSV)", elem_id="board-download")
                download_zip = gr.Button("Download the class's drawings (zip)", elem_id="drawings-download")
                clear = gr.Button("Clear the board…", variant="stop", elem_id="board-clear")
            with gr.Row(visible=False, elem_id="clear-confirm") as confirm_row:
                confirm_text = gr.Markdown()
                yes = gr.Button("Yes, delete every run", variant="stop", elem_id="board-clear-yes")
                cancel = gr.Button("Cancel", elem_id="board-clear-cancel")
            clear_drawings = gr.Button("Delete the class's drawings…", variant="stop", elem_id="drawings-clear")
            with gr.Row(visible=False, elem_id="drawings-clear-confirm") as drawings_confirm_row:
                drawings_confirm_text = gr.Markdown()
                drawings_yes = gr.Button("Yes, delete every drawing", variant="stop", elem_id="drawings-clear-yes")
                drawings_cancel = gr.Button("Cancel", elem_id="drawings-clear-cancel")
            admin_message = gr.Markdown(elem_id="admin-message")
            csv_file = gr.File(label="All runs (CSV)", visible=False, elem_id="board-csv")
            zip_file = gr.File(label="The class's drawings (zip)", visible=False, elem_id="drawings-zip")
        download.click(download_csv, token, [csv_file, admin_message], api_visibility="private")
        download_zip.click(download_drawings, token, [zip_file, admin_message], api_visibility="private")
        clear_drawings.click(ask_clear_drawings, token, [drawings_confirm_row, drawings_confirm_text, admin_message],
                             api_visibility="private")
        drawings_cancel.click(lambda: gr.update(visible=False), None, drawings_confirm_row, queue=False,
                              api_visibility="private")
        drawings_yes.click(confirm_clear_drawings, token, [drawings_confirm_row, admin_message],
                           api_visibility="private").then(drawings_view, None, drawings, api_visibility="private",
                                                          concurrency_id="predict")
        clear.click(ask_clear, token, [confirm_row, confirm_text, admin_message], api_visibility="private")
        cancel.click(lambda: gr.update(visible=False), None, confirm_row, queue=False, api_visibility="private")
        yes.click(confirm_clear, token, [confirm_row, admin_message], api_visibility="private").then(
            refresh, seen, [off_note, summary, table, acc_plot, loss_plot, best_test, best_drawings, seen],
            api_visibility="private")
    timer = gr.Timer(REFRESH_S, active=False)
    view = [off_note, summary, table, acc_plot, loss_plot, best_test, best_drawings, seen]

    def opened(evt: gr.SelectData):
        """A tab was picked: when it is this one, start the timer and draw the board; else stop the timer."""
        here = evt.value == CLASS_TAB
        return (gr.Timer(active=here), *(refresh() if here else tuple(gr.skip() for _ in view)))

    tabs.select(opened, None, [timer, *view], queue=False, show_progress="hidden", api_visibility="private")
    refresh_button.click(refresh, seen, view, queue=False, api_name="class_board")
    timer.tick(tick, seen, view, queue=False, show_progress="hidden", api_visibility="private")

    # The drawings are scored in the queue (the first look preprocesses every drawing), once for each change.
    def drawings_opened(evt: gr.SelectData):
        return drawings_view(force=False) if evt.value == CLASS_TAB else tuple(gr.skip() for _ in drawings)

    tabs.select(drawings_opened, None, drawings, show_progress="hidden", api_visibility="private",
                concurrency_id="predict")
    refresh_button.click(drawings_view, None, drawings, show_progress="hidden", api_name="class_drawings",
                         concurrency_id="predict")
    timer.tick(lambda seen: drawings_view(seen, force=False), drawings_seen, drawings, show_progress="hidden",
               api_visibility="private", concurrency_id="predict")
