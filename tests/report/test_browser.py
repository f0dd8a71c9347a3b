"""The report in a real browser: Debian's headless Chromium opens it from disk.

No console errors, no page errors, no request leaves ``file://``/``data:``, and the screenshot
is not blank.  Uses the system ``/usr/bin/chromium`` (``.ci/run`` installs Debian's package);
Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forecasts.report import build_report

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

# Skipped only on a developer machine without it; in CI (.ci/run installs it) a missing
# browser fails instead of hiding the test.
pytestmark = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")


def _open(report: Path, screenshot: Path) -> dict:
    from playwright.sync_api import sync_playwright

    seen: dict = {"console": [], "errors": [], "requests": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: seen["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.goto(report.resolve().as_uri(), wait_until="load")
            seen["title"] = page.title()
            seen["svgs"] = page.locator("svg").count()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return seen


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=float)


def _check(seen: dict) -> None:
    assert [m for m in seen["console"] if m[0] == "error"] == []
    assert seen["errors"] == []
    assert [u for u in seen["requests"] if not u.startswith(("file:", "data:"))] == []


def test_the_demo_report_renders_in_chromium(demo_report, tmp_path):
    shot = tmp_path / "new-start.png"
    seen = _open(demo_report, shot)
    _check(seen)
    assert seen["title"] == "Forecast calibration report" and seen["svgs"] >= 5
    pixels = _pixels(shot)
    assert pixels.shape[0] > 2000  # the whole page, not just the first screen
    assert pixels.std() > 20  # not blank: text, tables and figures on white
    assert (pixels < 128).mean() > 0.01  # a fair amount of dark ink


def test_the_empty_report_renders_in_chromium(ledger, tmp_path):
    report = build_report(ledger, tmp_path / "empty.html")
    shot = tmp_path / "empty.png"
    seen = _open(report, shot)
    _check(seen)
    assert _pixels(shot).std() > 10


def _widths(report: Path) -> dict[int, tuple[int, list[str]]]:
    """At a desktop (1280 px) and a phone (390 px) width: the page's scroll width and the
    elements that stick out of the viewport other than inside a table's own scroll box."""
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            for width in (1280, 390):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(report.resolve().as_uri(), wait_until="load")
                out[width] = (page.evaluate("document.documentElement.scrollWidth"), page.evaluate(
                    """() => [...document.querySelectorAll('body *')]
                         .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                                      && !e.closest('.table-wrap') && !e.closest('.toc'))
                         .map(e => e.tagName + '.' + e.className)"""))
                page.close()
        finally:
            browser.close()
    return out


def _fits(report: Path) -> None:
    for width, (scroll, sticking_out) in _widths(report).items():
        assert scroll <= width and sticking_out == [], (width, scroll, sticking_out[:5])


def test_the_demo_report_does_not_scroll_sideways_on_a_phone_or_a_desktop(demo_report):
    _fits(demo_report)


def test_a_team_report_with_open_questions_does_not_scroll_sideways(ledger, tmp_path):
    from tests.report.test_first_screen import _team_ledger

    _fits(build_report(_team_ledger(ledger), tmp_path / "team.html"))


_TEXT_PX = """() => [...document.querySelectorAll('figure svg text')].map(t => {
  const svg = t.closest('svg'), box = svg.viewBox.baseVal;
  const scale = svg.getBoundingClientRect().width / (box && box.width ? box.width : svg.width.baseVal.value);
  return [t.closest('figure').className, parseFloat(getComputedStyle(t).fontSize) * scale, t.textContent]; })"""


def test_every_figure_text_renders_at_11_px_or_more_on_a_desktop(demo_report):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(demo_report.resolve().as_uri(), wait_until="load")
            sizes = page.evaluate(_TEXT_PX)
        finally:
            browser.close()
    assert {kind for kind, _, _ in sizes} >= {"reliability", "sharpness-figure", "timeline-figure"}
    small = [(kind, round(px, 1), text) for kind, px, text in sizes if px < 11]
    assert small == [], small[:5]
