"""notebooks/cheatsheet.ipynb and its one-page export (`make cheatsheet`, course/sheet.py).

The notebook's code asserts every rule before it prints it (test_course.py runs it with the other
notebooks); here the export is checked: it holds every printed line and no code, refuses a
notebook with an error, and Chromium prints it as exactly one A4 page. The page's screenshot is
kept in test-artifacts/cheatsheet.png.
"""
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from test_browser import browser_chromium  # noqa: F401 - the fixture

import browser_support as bs
from course import sheet

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def executed():
    return sheet.execute()


def test_the_page_holds_every_printed_line_and_no_code(executed):
    page = sheet.page(executed)
    printed = [line for c in executed.cells if c.cell_type == "code" for o in c.outputs
               if o.output_type == "stream" for line in o.text.splitlines() if line.strip()]
    assert len(printed) >= 20
    import html
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    missing = [line for line in printed if line.strip() not in text]
    assert not missing, missing[:3]
    assert "assert " not in text and "import torch" not in text  # the code stays in the notebook
    for heading in ("The constructor and its defaults", "Symbols and shapes", "Parameters", "Padding and packing",
                    "Common errors"):
        assert heading in text


def test_a_failing_rule_stops_the_export(executed):
    broken = nbformat.reads(nbformat.writes(executed), as_version=4)  # a copy
    cell = next(c for c in broken.cells if c.cell_type == "code")
    cell.outputs.append(nbformat.v4.new_output("error", ename="AssertionError", evalue="a rule", traceback=[]))
    with pytest.raises(RuntimeError, match="AssertionError: a rule"):
        sheet.page(broken)


def test_make_cheatsheet_writes_the_page(tmp_path):
    out = tmp_path / "sheet.html"
    done = subprocess.run([sys.executable, "-m", "course.sheet", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("<!DOCTYPE html>") and "nn.LSTM on one page" in out.read_text()


@pytest.mark.browser
@pytest.mark.slow
def test_chromium_prints_it_on_one_a4_page(browser_chromium, executed, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "cheatsheet.html"
    page_file.write_text(sheet.page(executed), encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(browser_chromium), headless=True, args=bs.CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 1130})
            page.goto(page_file.as_uri())
            pdf = page.pdf(format="A4", print_background=True)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "cheatsheet.png"), full_page=True)
        finally:
            browser.close()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1, f"the cheat sheet prints on {pages} A4 pages"
    (ARTIFACTS / "cheatsheet.pdf").write_bytes(pdf)
