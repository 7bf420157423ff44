"""The Class tab in a real browser: a run trained in one browser context appears, within one refresh, on the
board open in another; hostile nicknames show as typed and run nothing."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from conftest import write_idx_dataset
from demo.class_tab import REFRESH_S
from fmnist.board import Board
from test_board import a_run
from demo.loadtest import start_app
from test_browser import CHROMIUM, FLAGS, shoot

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")]


@pytest.fixture(scope="module")
def class_app(tmp_path_factory):
    """The app on small synthetic data, with a board and a drawings folder of its own; yields its URL and the
    board's file (the drawings folder is next to it: `drawings_of`)."""
    work = tmp_path_factory.mktemp("class-app")
    db = work / "class.sqlite"
    env = {"GRADIO_ANALYTICS_ENABLED": "False", "FMNIST_DB": str(db), "FMNIST_DRAWINGS": str(work / "drawings"),
           "FMNIST_DATA": str(write_idx_dataset(work / "fm", n_train=2000, n_test=200))}
    try:
        proc, url = start_app(env, log=work / "app.log")
    except RuntimeError as err:
        pytest.fail(f"app did not start: {err}")
    yield url, db
    proc.terminate()
    proc.wait(timeout=20)


def test_a_run_from_another_browser_appears_within_one_refresh(class_app, tmp_path):
    from playwright.sync_api import sync_playwright

    url, db = class_app
    hostile = "<svg onload=alert(1)>"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        dialogs: list[str] = []
        teacher = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        student = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()  # its own cookies
        for page in (teacher, student):
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url)
            page.wait_for_load_state("load")
        teacher.get_by_role("tab", name="Class").click()
        teacher.wait_for_function("document.querySelector('#board-summary').innerText.includes('0 runs')",
                                  timeout=20_000)
        student.get_by_role("tab", name="Train").click()
        box = student.locator("#nickname textarea, #nickname input").first
        box.fill("x" * 30)
        student.wait_for_function("document.querySelector('#nickname-message').innerText.includes('at most 24')",
                                  timeout=10_000)
        box.fill(hostile)
        student.wait_for_function("!document.querySelector('#nickname-message').innerText.includes('at most')",
                                  timeout=10_000)
        student.locator("#start").click()
        student.wait_for_function("document.querySelector('#train-status').innerText.includes('Finished')",
                                  timeout=120_000)
        finished = time.time()
        teacher.wait_for_function("document.querySelector('#best-test').innerText.includes('<svg onload')",
                                  timeout=(REFRESH_S + 5) * 1000)
        seen_after = time.time() - finished
        # The same from another process writing to the file (a CLI `train --record`), with markdown in it.
        Board(db).record(a_run(256, 0.5, nickname="**bold**"))
        teacher.wait_for_function("document.querySelector('#best-test').innerText.includes('**bold**')",
                                  timeout=(REFRESH_S + 5) * 1000)
        best = teacher.locator("#best-test")
        assert best.locator("svg[onload], img[onerror], strong").count() == 0  # shown as text, not as markup
        assert hostile in best.inner_text() and "**bold**" in best.inner_text()
        # every figure of a column with the same decimals: 50.00 (not "50") under a 100.00, drawings 55.0
        assert re.search(r"\*\*bold\*\*\s+lenet\s+256\s+2\s+50\.00\s+55\.0\s", best.inner_text()), best.inner_text()
        assert "2 runs on the board" in teacher.locator("#board-summary").inner_text()
        table = teacher.locator("#class-table").inner_text()
        assert re.search(r"100\s+lenet\s+1\s+[\d.]+ %", table) and re.search(r"256\s+lenet\s+1\s+50\.00 %", table), table
        teacher.locator("#class-acc img").first.wait_for(timeout=10_000)
        teacher.locator("#class-loss img").first.wait_for(timeout=10_000)
        assert teacher.locator("#teacher").count() == 0  # no FMNIST_ADMIN_TOKEN, no teacher controls
        shoot(teacher, "class-test", tmp_path)
        browser.close()
    assert dialogs == []  # nothing a student typed ran
    assert seen_after < REFRESH_S + 5


def drawings_of(db: Path) -> Path:
    """The class_app's folder of the class's drawings."""
    return db.parent / "drawings"


def test_drawings_added_by_students_are_kept_and_scored_on_the_class_tab(class_app, tmp_path):
    """Two students, two browsers: one draws a pair of trousers and adds it as Trouser, then a garment it says is
    a Coat; the other, with the Class tab open, sees the drawings counted and scored within one refresh, the
    default's mistakes shown as the drawings themselves (ink on white). What was kept is what was on the pad."""
    import io

    import numpy as np
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from demo.latency import garment_strokes
    from demo.sketch_canvas import READY
    from fmnist.collected import FOLDERS, read_drawing
    from test_browser import TROUSERS, draw, ink_pixels

    url, db = class_app
    folder = drawings_of(db)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        teacher = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        teacher.goto(url)
        teacher.get_by_role("tab", name="Class").click()
        teacher.locator("#drawings-summary").get_by_text("No drawings yet").wait_for(timeout=20_000)
        assert not teacher.locator("#drawings-mistakes").is_visible()

        student = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        student.goto(url)
        student.locator(f"#sketchpad {READY}").wait_for(timeout=30_000)
        keep_message = student.locator("#keep-message")
        student.locator("#keep").click()  # nothing picked, nothing drawn: said, nothing kept
        keep_message.get_by_text("First pick what you drew").wait_for(timeout=10_000)
        draw(student, TROUSERS)
        student.wait_for_function("document.querySelector('#predict-message').innerText.includes('%')",
                                  timeout=20_000)
        ink = ink_pixels(student)
        student.locator("#drawn-as input").click()
        student.get_by_role("option", name="Trouser", exact=True).click()
        student.locator("#keep").click()
        keep_message.get_by_text("Added as Trouser").wait_for(timeout=10_000)
        assert student.locator("#drawn-as input").input_value() == ""  # the next drawing must be named afresh
        kept = list(folder.rglob("*.png"))
        assert [p.parent.name for p in kept] == [FOLDERS[1]]
        alpha = read_drawing(kept[0])[..., 3]
        # the pad sends a quarter of its pixels: the kept ink covers a quarter of what the screen shows, give or take
        assert 0.15 * ink < (alpha > 128).sum() < 0.4 * ink, ((alpha > 128).sum(), ink)
        assert ink_pixels(student) == ink  # the drawing stays on the pad

        student.locator("#clear").click()
        for stroke in garment_strokes(0):  # a T-shirt, said to be a Coat (a student's slip): kept as said
            draw(student, stroke)
        student.wait_for_function("document.querySelector('#predict-message').innerText.includes('%')",
                                  timeout=20_000)
        keep_message.get_by_text("Was it right or wrong?").wait_for(timeout=10_000)  # a new drawing: asked afresh
        student.locator("#drawn-as input").click()
        student.get_by_role("option", name="Coat", exact=True).click()
        student.locator("#keep").click()
        keep_message.get_by_text("Added as Coat").wait_for(timeout=10_000)
        assert "The class's drawings: 2" in keep_message.inner_text()

        teacher.wait_for_function("document.querySelector('#drawings-summary').innerText.includes('2 drawings')",
                                  timeout=(REFRESH_S + 15) * 1000)
        table = teacher.locator("#drawings-table").inner_text()
        assert re.search(r"Trouser\s+1\s+1 of 1 \(100 %\)", table), table
        assert re.search(r"Coat\s+1\s+0 of 1 \(0 %\)", table), table
        mistakes = teacher.locator("#drawings-mistakes img").first
        mistakes.wait_for(timeout=10_000)
        shown = np.asarray(Image.open(io.BytesIO(mistakes.screenshot())).convert("RGB")).astype(int)
        red = (shown[..., 0] > 180) & (shown[..., 1] < 80) & (shown[..., 2] < 80)  # the wrong answer's frame and title
        dark = shown.max(axis=2) < 90  # the drawing's ink (and the title's black text)
        assert red.mean() > 0.005 and dark.mean() > 0.01 and (shown.min(axis=2) > 200).mean() > 0.5, (
            red.mean(), dark.mean())
        shoot(teacher, "class-drawings", tmp_path)
        browser.close()
