"""Accessibility in a real browser: axe-core 4 (npm, installed by .ci/run into .ci/node/) audits every tab, in
the light and the dark theme, before and after an answer; the Predict tab is used with the keyboard alone
(everything but the freehand drawing itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.predict_tab import EXAMPLES, example_label
from demo.sketch_canvas import READY
from test_browser import CHROMIUM, FLAGS, ROOT, app_url  # noqa: F401  (app_url: the running app, a fixture)

AXE = ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")]

# Violations that come from Gradio's own markup and that the project cannot change (README, "Accessibility"):
# the rule, and a test on the offending element's HTML. Anything else critical or serious fails the test.
GRADIO_OWN = {
    # Gradio's placeholder for an output without a value (js/atoms/src/Empty.svelte) is a <div> with an
    # aria-label and no role: the prediction and the 28x28 picture before an answer.
    "aria-prohibited-attr": lambda html: html.startswith('<div aria-label="Empty value" class="empty'),
}


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def open_app(browser, url: str, scheme: str = "light"):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, color_scheme=scheme)
    page.goto(url)
    page.locator(f"#sketchpad {READY}").wait_for(timeout=30_000)
    page.wait_for_function("document.querySelector('#model-card').innerText.includes('test accuracy')",
                           timeout=20_000)  # the card is written with the page: no call answered yet
    return page


def serious_violations(page) -> list[str]:
    """axe-core's critical and serious violations on the page as it is now, less GRADIO_OWN's."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .filter(v => v.impact === 'critical' || v.impact === 'serious')
        .map(v => ({id: v.id, nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html}))}))""")
    return [f"{v['id']}: {node['target']} {node['html'][:160]}" for v in violations for node in v["nodes"]
            if not GRADIO_OWN.get(v["id"], lambda html: False)(node["html"])]


@pytest.mark.skipif(not AXE.exists(), reason=f"needs axe-core: npm install --prefix .ci/node axe-core@4 ({AXE} missing)")
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious_on_either_tab(browser, app_url, scheme):
    page = open_app(browser, app_url, scheme)
    page.wait_for_function("document.querySelectorAll('#examples .gallery-item img').length === %d"
                           % len(EXAMPLES), timeout=10_000)
    dark = page.evaluate("document.body.classList.contains('dark') || !!document.querySelector('.gradio-container.dark')"
                         " || document.documentElement.classList.contains('dark')")
    assert dark == (scheme == "dark")  # Gradio follows the browser's colour scheme
    assert_nothing_serious(page)
    # With an answer on screen: the status line, the bars, the 28x28 picture, the evidence and the maps.
    page.locator("#show-maps input[type=checkbox]").check()
    # the box's own answer first (the evidence panel shows, empty): on a cold first page the example's click could
    # otherwise be sent before the ticked box reached the app's state, and be answered with the maps hidden
    page.locator("#evidence").wait_for(state="visible", timeout=20_000)
    page.locator("#examples .gallery-item").first.click()
    page.locator("#evidence img").first.wait_for(timeout=20_000)
    page.wait_for_function("document.querySelector('#prediction').innerText.includes('%')", timeout=20_000)
    assert_nothing_serious(page)
    page.get_by_role("tab", name="Train").click()
    page.locator("#start").wait_for(state="visible", timeout=10_000)
    assert_nothing_serious(page)
    page.get_by_role("tab", name="Class").click()  # the class board
    page.locator("#class-table").wait_for(state="visible", timeout=10_000)
    assert_nothing_serious(page)


def test_axe_allow_list_is_only_gradio_markup():
    """The allow-list lets through Gradio's Empty placeholder and nothing that merely resembles it."""
    allowed = GRADIO_OWN["aria-prohibited-attr"]
    assert allowed('<div aria-label="Empty value" class="empty svelte-v95lt3 large unpadded_box">')
    assert not allowed('<div aria-label="Prediction" class="status">')


def test_examples_are_named_after_their_garment():
    assert example_label(ROOT / "demo/examples/test-0000-ankle-boot.png") == "Ankle boot, a Fashion-MNIST test image"
    assert example_label(ROOT / "demo/examples/drawing-tshirt.png") == "T-shirt/top, a drawing"
    assert example_label(ROOT / "demo/examples/test-0019-t-shirt.png") == "T-shirt/top, a Fashion-MNIST test image"
    with pytest.raises(ValueError, match="named"):
        example_label(Path("photo-of-my-cat.png"))


def assert_nothing_serious(page) -> None:
    found = serious_violations(page)
    assert not found, "axe-core, critical or serious:\n" + "\n".join(found)


FOCUSED = """(() => { const e = document.activeElement, box = e.closest('[id]:not([id^="html-"])');
  return (box ? box.id : '') + '|' + (e.getAttribute('aria-label') || e.labels?.[0]?.innerText || e.innerText || '').trim().split('\\n')[0]; })()"""


def tab_until(page, wanted: str, limit: int = 40) -> list[str]:
    """Press Tab until the focused element's "box-id|name" contains `wanted`; returns what was focused on the way."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(FOCUSED))
        if wanted in seen[-1]:
            return seen
    pytest.fail(f"Tab never reached {wanted!r}; focus went {seen}")


def test_the_predict_tab_works_from_the_keyboard(browser, app_url):
    """Tab reaches every control of the Predict tab in reading order, each with a name, and Enter, Space and
    the arrow keys use them: a pen size, an example, the model picker, the switches."""
    page = open_app(browser, app_url)
    order = tab_until(page, "show-maps")
    names = [f.split("|", 1)[1] for f in order]
    want = ["Thin", "Medium", "Thick", "Eraser", "Clear the drawing", "Fill closed outlines", "Clear drawing, photo",
            "Drop Image Here", *[example_label(p) for p in EXAMPLES], "Model", "Load a checkpoint",
            "What did you draw?", "Add it to the class's drawings", "Show what the network sees"]
    positions = [next((i for i, n in enumerate(names) if n.startswith(w)), None) for w in want]
    assert None not in positions and positions == sorted(positions), list(zip(want, positions, names))

    page.locator(".pad-size", has_text="Thick").focus()
    page.keyboard.press("Enter")
    assert page.locator(".pad-size", has_text="Thick").get_attribute("aria-pressed") == "true"

    page.locator("#clear").focus()
    tab_until(page, "Ankle boot, a Fashion-MNIST test image")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#predict-message').innerText"
                           ".includes('Prediction for the photo: Ankle boot')", timeout=20_000)

    tab_until(page, "model-pick|Model")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#model-pick input').value === 'lenet'", timeout=10_000)
    page.wait_for_function("document.querySelector('#model-card').innerText.startsWith('lenet')", timeout=10_000)

    tab_until(page, "drawn-as|What did you draw?")  # a photo is answered: only a drawing is kept, and it says so
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#drawn-as input').value === 'T-shirt/top'", timeout=10_000)
    tab_until(page, "keep|Add it to the class's drawings")
    page.keyboard.press("Enter")
    page.locator("#keep-message").get_by_text("Only drawings from the pad are kept").wait_for(timeout=10_000)

    tab_until(page, "show-maps")
    page.keyboard.press("Space")
    page.locator("#evidence img").first.wait_for(timeout=20_000)  # answered again, with the evidence
    assert "Ankle boot" in page.locator("#predict-message").inner_text()
