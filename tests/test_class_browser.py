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
    """The app on small synthetic data, with a board of its own; yields its URL and the board's file."""
    work = tmp_path_factory.mktemp("class-app")
    db = work / "class.sqlite"
    env = {"GRADIO_ANALYTICS_ENABLED": "False", "FMNIST_DB": str(db),
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
