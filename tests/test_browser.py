"""The live explorer in a real browser: JupyterLab + Debian's Chromium, driven by Playwright.

Opens a copy of the answered 02_shapes lesson, runs all cells, waits for the explorer's
printed shape table inside its Output widget, moves a slider with the keyboard and checks
that the table and the unrolled picture change. Prints the timings; saves
test-artifacts/browser-explorer.png and the explorer alone, browser-explorer-unrolled.png. A
second test runs every explorer view (shapes, params, states, gates, packing, gradients) live and keeps each
picture as test-artifacts/browser-view-<view>.png.
Chromium comes from apt (see browser_support.INSTALL_HINT); with CI set, a missing
Chromium fails the test instead of skipping it.
"""
import contextlib
import os
import shutil
import statistics
import time
from pathlib import Path

import pytest

import browser_support as bs

ROOT = Path(__file__).resolve().parent.parent
# The instructor version has its solutions, so Run All runs through. BROWSER_TEST_NOTEBOOK picks another.
LESSON = Path(os.environ.get("BROWSER_TEST_NOTEBOOK") or ROOT / "source/02_shapes/02_shapes.ipynb")
SCREENSHOT = ROOT / "test-artifacts/browser-explorer.png"
VIEW_SHOT = ROOT / "test-artifacts/browser-explorer-unrolled.png"
KEY_PRESSES = 5

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="session")
def browser_chromium():
    path, why = bs.ensure_chromium()
    if path is None:
        message = f"Debian's Chromium is needed for the browser test: {why}. {bs.INSTALL_HINT}"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(message + " (CI is set, so this is a failure, not a skip)")
        pytest.skip(message)
    return path


def launch(pw, chromium, tmp_path):
    """Headless Debian Chromium with a profile of its own, the window a laptop's."""
    return pw.chromium.launch_persistent_context(str(tmp_path / "chromium-profile"), executable_path=str(chromium),
                                                 headless=True, args=bs.CHROMIUM_FLAGS,
                                                 viewport={"width": 1280, "height": 1000})


@contextlib.contextmanager
def serving(tmp_path, put):
    """A private JupyterLab serving what put(folder) writes; stopped (server and kernels) afterwards."""
    lab = bs.JupyterLab(tmp_path / "lab")
    lab.served.mkdir(parents=True)
    put(lab.served)
    try:
        lab.ready_s = lab.start()
        yield lab
    finally:
        lab.stop()
    assert not lab.kernel_pids(), "kernels outlived the server"


@pytest.fixture
def browser_lab(tmp_path):
    """JupyterLab serving a copy of LESSON (a copy: autosave writes outputs back)."""
    assert LESSON.exists(), f"{LESSON.relative_to(ROOT) if LESSON.is_relative_to(ROOT) else LESSON} is missing"
    with serving(tmp_path, lambda folder: shutil.copy(LESSON, folder / LESSON.name)) as lab:
        yield lab


def test_explorer_slider_updates_printed_table(browser_chromium, browser_lab, tmp_path, capsys):
    from playwright.sync_api import sync_playwright

    lab, figures = browser_lab, {"JupyterLab ready": f"{browser_lab.ready_s:.1f} s"}
    with sync_playwright() as pw:
        context = launch(pw, browser_chromium, tmp_path)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            started = time.perf_counter()
            page.goto(lab.notebook_url(LESSON.name))
            page.wait_for_function(bs.KERNEL_READY_JS, polling=50, timeout=45_000)
            figures["page to kernel idle"] = f"{time.perf_counter() - started:.1f} s"

            started = time.perf_counter()
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            try:
                page.wait_for_function(bs.FIND_EXPLORER_JS, polling="raf", timeout=45_000)
            except Exception as err:
                errors = page.evaluate(bs.ERRORS_JS)
                raise AssertionError(f"no explorer text appeared after Run All; stderr/error outputs: {errors}; "
                                     f"server log:\n{lab.log_tail(1500)}") from err
            figures["run-all to first explorer text"] = f"{time.perf_counter() - started:.2f} s"
            # Let the rest of the notebook finish, so slider messages don't queue behind other cells.
            page.wait_for_function(bs.ALL_DONE_JS, polling=50, timeout=60_000)
            figures["run-all to all cells done"] = f"{time.perf_counter() - started:.2f} s"

            explorer = page.locator("[data-browser-test='explorer']")
            handle = explorer.locator(".widget-slider .noUi-handle").first
            readout = explorer.locator(".widget-slider .widget-readout").first
            explorer.scroll_into_view_if_needed()
            text_ms, figure_ms = [], []
            for _ in range(KEY_PRESSES):
                now, high = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax"))
                key = "ArrowRight" if now < high else "ArrowLeft"
                before = page.evaluate(bs.ARM_LATENCY_JS)
                handle.focus()
                page.keyboard.press(key)
                page.wait_for_function(bs.LATENCY_DONE_JS, polling="raf", timeout=10_000)
                lat = page.evaluate("window.__browserTest")
                after = float(handle.get_attribute("aria-valuenow"))
                assert after != now, f"{key} did not move the slider (still {now})"
                assert lat["newText"] != before
                value = readout.inner_text().strip()
                assert value in lat["newText"], f"slider now reads {value}, not in the table:\n{lat['newText']}"
                text_ms.append(lat["text"] - lat["t0"])
                if lat["img"] is not None:
                    figure_ms.append(lat["img"] - lat["t0"])
            # The unrolled network is redrawn on every key: a new PNG each time, not only new text.
            assert len(figure_ms) == KEY_PRESSES, f"the picture changed on {len(figure_ms)} of {KEY_PRESSES} keys"
            figures["slider key to new text, median"] = (
                f"{statistics.median(text_ms):.0f} ms (all: {', '.join(f'{t:.0f}' for t in text_ms)})")
            if figure_ms:
                figures["slider key to new figure, median"] = f"{statistics.median(figure_ms):.0f} ms"
            page.wait_for_function(bs.ALL_DONE_JS, polling=50, timeout=10_000)  # the last update drawn
            explorer.evaluate("e => e.scrollIntoView({block: 'center'})")
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
            explorer.screenshot(path=str(VIEW_SHOT))  # the explorer alone: its controls and the unrolled picture
        except Exception:
            with contextlib.suppress(Exception):  # on failure too: the page as it was is the best clue
                SCREENSHOT.parent.mkdir(exist_ok=True)
                context.pages[0].screenshot(path=str(SCREENSHOT))
            raise
        finally:
            context.close()
    with capsys.disabled():
        print(f"\n[browser] {LESSON.name}: " + "; ".join(f"{k}: {v}" for k, v in figures.items())
              + f"; screenshot: {SCREENSHOT.relative_to(ROOT)}")


VIEWS = [("shapes", 'explore(view="shapes", num_layers=2, bidirectional=True, seq_len=6)'),
         ("params", 'explore(view="params", num_layers=2)'),
         ("states", 'explore(view="states", num_layers=2, bidirectional=True, batch_first=True)'),
         ("gates", "explore_gates()"),
         ("packing", "explore_packing()"),
         ("gradients", 'explore_gradients(kind="RNN", length=60, scale=3.0)')]


def test_every_explorer_view_is_drawn_in_the_browser(browser_chromium, tmp_path):
    """Each explorer view, live in JupyterLab: its picture arrives, and its screenshot is kept in
    test-artifacts/browser-view-<view>.png."""
    import nbformat
    from playwright.sync_api import sync_playwright

    cells = [nbformat.v4.new_code_cell((ROOT / "course" / "explorers" / f).read_text())
             for f in ("layer.py", "gates.py", "packing.py", "gradients.py")]
    cells += [nbformat.v4.new_code_cell(call) for _, call in VIEWS]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    with serving(tmp_path, lambda folder: nbformat.write(notebook, str(folder / "views.ipynb"))) as lab:
        with sync_playwright() as pw:
            context = launch(pw, browser_chromium, tmp_path)
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.goto(lab.notebook_url("views.ipynb"))
                page.wait_for_function(bs.KERNEL_READY_JS, polling=50, timeout=45_000)
                page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
                page.wait_for_function(f"() => document.querySelectorAll('.widget-output .jp-RenderedImage img')"
                                       f".length >= {len(VIEWS)}", polling=100, timeout=60_000)
                page.wait_for_function(bs.ALL_DONE_JS, polling=50, timeout=60_000)
                pictures = page.locator(".widget-output .jp-RenderedImage img")
                assert pictures.count() == len(VIEWS)
                ARTIFACTS = ROOT / "test-artifacts"
                ARTIFACTS.mkdir(exist_ok=True)
                for k, (name, _) in enumerate(VIEWS):
                    picture = pictures.nth(k)
                    picture.scroll_into_view_if_needed()
                    assert picture.evaluate("img => img.naturalWidth") >= 760  # shown at its own size
                    picture.screenshot(path=str(ARTIFACTS / f"browser-view-{name}.png"))
            finally:
                context.close()


GRADIENT_TEXT_JS = """() => {
  for (const out of document.querySelectorAll('.widget-output')) {
    const text = out.querySelector("%s");
    if (text && text.textContent.includes('||dy/dx_1||')) {
      out.parentElement.setAttribute('data-browser-test', 'gradients');
      return text.textContent;
    }
  }
  return null;
}""" % bs.STDOUT


def test_the_gradient_explorer_answers_the_keyboard(browser_chromium, tmp_path):
    """Lesson 07's explorer, live: its length slider moved with an arrow key, then its model menu by typing, with
    the keyboard alone: each redraws the text and the picture (keyboard-operable controls)."""
    import nbformat
    from playwright.sync_api import sync_playwright

    cells = [nbformat.v4.new_code_cell((ROOT / "course" / "explorers" / "gradients.py").read_text()),
             nbformat.v4.new_code_cell('lab = explore_gradients(kind="RNN", length=60)')]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    with serving(tmp_path, lambda folder: nbformat.write(notebook, str(folder / "gradients.ipynb"))) as lab:
        with sync_playwright() as pw:
            context = launch(pw, browser_chromium, tmp_path)
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.goto(lab.notebook_url("gradients.ipynb"))
                page.wait_for_function(bs.KERNEL_READY_JS, polling=50, timeout=45_000)
                page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
                page.wait_for_function(GRADIENT_TEXT_JS, polling=100, timeout=60_000)
                page.wait_for_function(bs.ALL_DONE_JS, polling=50, timeout=60_000)
                box = page.locator("[data-browser-test='gradients']")
                text = lambda: page.evaluate(GRADIENT_TEXT_JS)
                picture = lambda: box.locator(".widget-output .jp-RenderedImage img").get_attribute("src")
                first_text, first_picture = text(), picture()
                assert first_text.startswith("RNN, L = 60")
                handle = box.locator(".widget-slider .noUi-handle").first  # length L
                handle.focus()
                page.keyboard.press("ArrowRight")
                page.wait_for_function(f"() => ({GRADIENT_TEXT_JS})().startsWith('RNN, L = 61')", timeout=10_000)
                page.wait_for_function(bs.ALL_DONE_JS, polling=50, timeout=10_000)
                assert picture() != first_picture
                menu = box.locator("select").first  # the model: RNN, GRU, LSTM
                menu.focus()
                page.keyboard.press("g")  # a closed menu's type-ahead picks the option that starts with G
                page.wait_for_function(f"() => ({GRADIENT_TEXT_JS})().startsWith('GRU, L = 61')", timeout=10_000)
                assert "||dy/dx_1|| / ||dy/dx_61||" in text()
                ARTIFACTS = ROOT / "test-artifacts"
                ARTIFACTS.mkdir(exist_ok=True)
                box.screenshot(path=str(ARTIFACTS / "browser-gradients-keyboard.png"))
            finally:
                context.close()
