"""The teacher's lesson in a real browser, at a projector's 1280x720: two students, one training slot.
The second is told their place in the queue and leaves it with Stop (their run never starts); wrong
settings are explained next to their fields (a slider's while it is typed, and where the slider moved it on
leaving); a finished run is offered to the Predict tab, not switched to; Stop after the end keeps the
run's summary."""

from __future__ import annotations

import pytest

from conftest import real_data
from test_browser import CHROMIUM, FLAGS, app_url, shoot  # noqa: F401  (app_url: the running app, a fixture)

pytestmark = [pytest.mark.browser, real_data]


@pytest.fixture
def students(app_url):
    """Two students' pages, each its own browser context (its own session), on the Train tab."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        pages = []
        for _ in range(2):
            page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            page.goto(app_url)
            page.get_by_role("tab", name="Train").click()
            page.locator("#start").wait_for(timeout=30_000)
            pages.append(page)
        yield pages
        browser.close()


def set_field(page, field: str, value: str) -> None:
    box = page.locator(f"{field} input[type=number]").first
    box.fill(value)
    box.press("Tab")


def status(page) -> str:
    return page.locator("#train-status").inner_text()


def wait_status(page, text: str, timeout: int = 60_000) -> None:
    page.wait_for_function(f"document.querySelector('#train-status').innerText.includes({text!r})", timeout=timeout)


def test_a_queued_student_sees_their_place_and_stop_takes_them_out(students, tmp_path):
    alice, bob = students
    set_field(alice, "#epochs", "20")
    alice.locator("#start").click()
    wait_status(alice, "Epoch")
    bob.locator("#start").click()
    wait_status(bob, "Waiting for a training slot", 20_000)
    assert "1 run is ahead of yours" in status(bob) and "your turn in about" in status(bob)
    bob.locator("#train-status").scroll_into_view_if_needed()
    shoot(bob, "queued", tmp_path, full_page=False)  # the README's picture of a queued student
    assert bob.locator("#stop").is_enabled() and bob.locator("#start").is_disabled()  # queued: Stop takes him out
    bob.locator("#stop").click()
    wait_status(bob, "Cancelled", 10_000)
    assert "nothing was trained" in status(bob)
    bob.wait_for_function("!document.querySelector('#start').disabled && document.querySelector('#stop').disabled",
                          timeout=10_000)  # out of the queue: he may start again, and there is nothing to stop
    alice.locator("#stop").click()
    wait_status(alice, "Stopped early", 30_000)
    bob.wait_for_timeout(3000)  # the slot is free now: a run still queued would start here
    assert "Cancelled" in status(bob) and "Epoch" not in status(bob)
    wait_status(alice, "Use it for drawing", 60_000)  # measured, and the summary stays after a late Stop
    summary = status(alice)
    alice.wait_for_function("document.querySelector('#stop').disabled", timeout=10_000)  # nothing left to stop
    alice.wait_for_timeout(1000)
    assert status(alice) == summary


def test_wrong_settings_are_explained_next_to_their_fields(students):
    page, _ = students
    for field, value, problem, words in (
            ("#batch-size", "0", "#batch-size-problem", "Batch size must be a whole number from 1 to 60,000."),
            ("#batch-size", "2.5", "#batch-size-problem", "Batch size must be a whole number from 1 to 60,000."),
            ("#batch-size", "", "#batch-size-problem", "Batch size must be a whole number from 1 to 60,000."),
            ("#lr", "5", "#lr-problem", "Learning rate must be between 0.000001 and 1"),
            ("#lr", "-0.01", "#lr-problem", "Learning rate must be between 0.000001 and 1")):
        set_field(page, field, value)
        wait_problem(page, problem, words)
        page.locator("#start").click()
        wait_status(page, "Some settings need fixing first", 10_000)
        assert page.locator(".toast-body, .error").count() == 0  # no red "Error" pills
        set_field(page, field, {"#batch-size": "100", "#lr": "0.001"}[field])
        wait_problem(page, problem, "")


def test_a_slider_explains_while_typing_and_says_where_it_moved_the_value(students):
    """Gradio's slider puts a typed value back into its range when the box loses focus (its own clamp): the note
    explains while the student types, then says which value the slider chose; a value set by hand clears it."""
    page, _ = students
    for field, value, problem, words, clamped, moved in (
            ("#epochs", "0", "#epochs-problem", "Epochs must be a whole number from 1 to 50.", "1",
             "Epochs go from 1 to 50, so the slider set 1 in place of 0."),
            ("#epochs", "51", "#epochs-problem", "Epochs must be a whole number from 1 to 50.", "50",
             "Epochs go from 1 to 50, so the slider set 50 in place of 51."),
            ("#n-images", "500", "#n-images-problem", "Training images must be a whole number from 1,000 to 60,000.",
             "1000", "Training images go from 1,000 to 60,000, so the slider set 1,000 in place of 500.")):
        box = page.locator(f"{field} input[type=number]").first
        box.fill(value)  # still typing: the box keeps its focus
        wait_problem(page, problem, words)
        assert box.input_value() == value
        box.press("Tab")
        page.wait_for_function(f"document.querySelector('{field} input[type=number]').value === {clamped!r}",
                               timeout=10_000)
        wait_problem(page, problem, moved)
        assert page.locator(".toast-body, .error").count() == 0
        assert "About" in page.locator("#train-estimate").inner_text()  # the cost of the run it would now start
        set_field(page, field, "2" if field == "#epochs" else "2000")
        wait_problem(page, problem, "")  # nothing stale next to a value the student chose


def wait_problem(page, problem: str, words: str) -> None:
    """Wait until the note under a field says `words` (or is empty for "")."""
    test = f"=== {words!r}" if not words else f".includes({words!r})"
    try:
        page.wait_for_function(f"document.querySelector('{problem}').innerText.trim(){test}", timeout=10_000)
    except Exception as err:
        raise AssertionError(f"{problem} says {page.locator(problem).inner_text()!r}, not {words!r}") from err


def test_a_finished_run_is_offered_not_switched_to(students, tmp_path):
    page, _ = students
    set_field(page, "#epochs", "1")
    set_field(page, "#n-images", "2000")
    page.locator("#start").click()
    page.locator("#use-model").wait_for(timeout=120_000)
    wait_status(page, "Finished", 10_000)
    page.locator("#mistakes img").first.wait_for(timeout=30_000)
    shoot(page, "train", tmp_path)  # the README's picture of the Train tab
    page.get_by_role("tab", name="Predict").click()
    assert page.locator("#model-pick input").input_value() == "cnn (default)"  # still the model it was
    page.get_by_role("tab", name="Train").click()
    page.locator("#use-model").click()  # the student chooses to draw for their run
    page.locator("#model-pick").wait_for(timeout=10_000)
    page.wait_for_function("document.querySelector('#model-pick input').value.startsWith('#1 lenet bs100')",
                           timeout=10_000)
    page.wait_for_function("document.querySelector('#model-card').innerText.includes('lenet')", timeout=10_000)
