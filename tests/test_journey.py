"""The student's loop in a real browser: ten garments, one after another on one page, Clear between them
(the app's button, and the pad's own trash icon every third time), never picking a tool. Checked on the
pixels: after each Clear the pad has no ink and no answer is shown; after each drawing the 28x28 picture
the model sees is that drawing alone. Then the same on a phone with a finger. Then a whole sitting: draw,
train, train again and stop, draw with one's own model, switch back, open a second tab."""

from __future__ import annotations

import io
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image, ImageDraw

from demo.latency import garment_strokes, stroke_path
from demo.sketch_canvas import READY, SIDE, decode_drawing, pad_value
from fmnist.preprocess import preprocess_drawing
from conftest import real_data
from test_browser import CHROMIUM, FLAGS, PHONE, app_url, ink_pixels  # noqa: F401  (app_url: the running app, a fixture)

pytestmark = pytest.mark.browser


def expected_model_image(label: int, width: int = 16) -> np.ndarray:
    """What the model should see for garment `label` drawn alone with the default pen (28, 28) uint8."""
    alpha = Image.new("L", (SIDE, SIDE), 0)
    pen = ImageDraw.Draw(alpha)
    for stroke in garment_strokes(label):
        pen.line([(x * SIDE, y * SIDE) for x, y in stroke], fill=255, width=width, joint="curve")
    rgba = np.zeros((SIDE, SIDE, 4), np.uint8)
    rgba[..., 3] = np.asarray(alpha)
    return preprocess_drawing(decode_drawing(pad_value(rgba))[0])


def stroke(page, points, touch: bool) -> None:
    path = stroke_path(page.locator("#sketchpad canvas").bounding_box(), points)
    if touch:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": path[0][0], "y": path[0][1]}]})
        for x, y in path[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        cdp.detach()
    else:
        page.mouse.move(*path[0])
        page.mouse.down()
        for x, y in path[1:]:
            page.mouse.move(x, y)
        page.mouse.up()


def settled(page, read, seconds: float = 20):
    """read() once two readings 0.7 s apart agree (or the last one after `seconds`)."""
    value, deadline = None, time.time() + seconds
    while time.time() < deadline:
        now = read()
        if now == value:
            break
        value = now
        page.wait_for_timeout(700)
    return value


def shown_preview(page, base_url: str) -> np.ndarray:
    """The 28x28 picture the page shows (its 224x224 enlargement read back at one pixel per square), once
    it has stopped changing."""
    img = page.locator("#preview img").first
    img.wait_for(timeout=20_000)
    src = settled(page, lambda: img.get_attribute("src"))
    url = src if src.startswith("http") else base_url.rstrip("/") + "/" + src.lstrip("/")
    big = np.asarray(Image.open(io.BytesIO(urllib.request.urlopen(url).read())).convert("L"))
    return big[4::8, 4::8]


def journey(page, base_url: str, touch: bool) -> None:
    status = page.locator("#predict-message [role=status]")
    for label in range(10):
        for points in garment_strokes(label):
            stroke(page, points, touch)
        page.wait_for_function("document.querySelector('#predict-message [role=status]').innerText.includes('%')",
                               timeout=20_000)
        assert ink_pixels(page) > 500, f"garment {label}: nothing drawn (was the pen deselected?)"
        seen, expected = shown_preview(page, base_url).astype(int), expected_model_image(label).astype(int)
        # The browser's and PIL's pens differ a little at the edges; a leftover earlier garment differs a lot.
        assert np.abs(seen - expected).mean() < 20, (label, np.abs(seen - expected).mean())
        if label % 3 == 2:
            page.locator("#sketchpad .pad-clear").click()  # the pad's own trash icon
        else:
            page.locator("#clear").click()
        page.wait_for_function("!document.querySelector('#predict-message [role=status]').innerText.includes('%')",
                               timeout=10_000)
        page.wait_for_timeout(300)
        assert ink_pixels(page) == 0, f"after garment {label} and Clear, ink is left on the pad"
        assert "%" not in page.locator("#prediction").inner_text() and page.locator("#preview img").count() == 0
        assert "Draw a garment" in status.inner_text()


def test_ten_garments_in_a_row_with_clear_between(app_url):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        page.locator(f"#sketchpad {READY}").wait_for(timeout=30_000)
        journey(page, app_url, touch=False)
        browser.close()


def test_ten_garments_in_a_row_on_a_phone_by_touch(app_url):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(**PHONE)
        page.goto(app_url)
        page.locator(f"#sketchpad {READY}").wait_for(timeout=30_000)
        page.evaluate("document.querySelector('#sketchpad').scrollIntoView()")
        journey(page, app_url, touch=True)
        browser.close()


def answer(page) -> str:
    """What the page answers for the drawing (the top three, or the sentence in their place when the model does
    not recognise a garment), once it has stopped changing."""
    js = ("(document.querySelector('#prediction').innerText + '\\n' + "
          "document.querySelector('#predict-message').innerText)")
    page.wait_for_function(f"{js}.includes('%')", timeout=20_000)
    return settled(page, lambda: page.evaluate(js))


def answer_that(page, ok, seconds: float = 20) -> str:
    """The settled answer once ok(answer) holds (an answer for the previous model may still be shown), or the
    last one after `seconds`."""
    text, deadline = answer(page), time.time() + seconds
    while not ok(text) and time.time() < deadline:
        page.wait_for_timeout(500)
        text = answer(page)
    return text


def pick_model(page, name: str) -> None:
    page.locator("#model-pick input").click()
    page.get_by_role("option", name=name).click()
    page.wait_for_function(f"document.querySelector('#model-pick input').value === {name!r}", timeout=10_000)


@real_data
def test_a_sitting_draw_train_twice_stop_draw_with_ones_own_model_and_back(app_url, tmp_path):  # noqa: F811
    """One student, one page: a drawing stays on the pad while they train a run to its end and stop a second
    one; the second run's model answers for that same drawing, the default's answer comes back unchanged when
    they switch back, and a second tab is a session of its own (none of their models)."""
    from playwright.sync_api import sync_playwright

    from test_browser import TROUSERS, draw, shoot
    from test_lesson import set_field

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        page.locator(f"#sketchpad {READY}").wait_for(timeout=30_000)
        draw(page, TROUSERS)
        by_default = answer(page)
        assert by_default.splitlines()[1] == "Trouser", by_default
        ink = ink_pixels(page)

        page.get_by_role("tab", name="Train").click()
        page.locator("#batch-preset label").filter(has_text="256").click()
        for field, value in (("#epochs", "1"), ("#n-images", "2000")):
            set_field(page, field, value)
        page.locator("#start").click()
        page.wait_for_function("document.querySelector('#train-status').innerText.includes('Use it for drawing')",
                               timeout=120_000)
        first_loss = page.locator("#loss-plot img").first.get_attribute("src")
        page.locator("#batch-preset label").filter(has_text="32").click()
        for field, value in (("#epochs", "5"), ("#n-images", "60000")):
            set_field(page, field, value)
        page.locator("#start").click()
        page.wait_for_function("document.querySelector('#train-status').innerText.includes('#2 lenet bs32')"
                               " && document.querySelector('#train-status').innerText.includes('test accuracy')",
                               timeout=180_000)  # one epoch done: the student stops it there
        page.locator("#stop").click()
        page.wait_for_function("document.querySelector('#train-status').innerText.includes('Stopped early')",
                               timeout=30_000)
        page.wait_for_function("document.querySelector('#train-status').innerText.includes('Use it for drawing')",
                               timeout=120_000)
        table = page.locator("#results").inner_text()
        assert "#1 lenet bs256" in table and "#2 lenet bs32" in table, table
        assert page.locator("#loss-plot img").first.get_attribute("src") != first_loss  # the second run drawn too
        shoot(page, "sitting-train", tmp_path)

        page.locator("#use-model").click()
        page.wait_for_function("document.querySelector('#model-pick input').value.startsWith('#2 lenet bs32')",
                               timeout=10_000)
        assert abs(ink_pixels(page) - ink) < 0.02 * ink  # the drawing waited on the pad
        page.wait_for_function("document.querySelector('#model-card').innerText.includes('lenet')", timeout=10_000)
        assert "of 5 epochs" in page.locator("#model-card").inner_text()  # stopped early, and it says so
        own = answer_that(page, lambda text: text != by_default)
        assert own != by_default, own
        shoot(page, "sitting-own-model", tmp_path)
        pick_model(page, "cnn (default)")
        back = answer_that(page, lambda text: text == by_default)
        assert back == by_default, back  # the same drawing, the same model: the same answer

        other = browser.new_page(viewport={"width": 1400, "height": 1000})
        other.goto(app_url)
        other.locator(f"#sketchpad {READY}").wait_for(timeout=30_000)
        other.locator("#model-pick input").click()
        names = other.get_by_role("option").all_inner_texts()
        assert names and not any(n.startswith("#") for n in names), names  # the first tab's runs are its own
        browser.close()
