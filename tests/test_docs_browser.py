"""The built documentation, read in a real browser on a machine with no network.

The docs are built once (``sphinx-build -W``, gallery examples shortened), then every rule page
and one gallery page are opened from disk (``file://``) in headless Chromium (Debian's
``chromium``), driven over the DevTools protocol (``tests/support/browser.py``). For each page:

- every request the page made is for a file of the built site (no script, font, style or
  image from any other host), and none failed;
- the maths rendered: MathJax's output (``mjx-container``) is there for every formula of the
  page, and no raw TeX (``\\[``, ``\\begin``, ``\\leftarrow``) is left in the visible text;
- no script error was logged.

A screenshot of each rule page is written to ``docs/_build/screenshots/`` (the path is printed;
``pytest -s`` shows it) to look at.
"""
import os
import pathlib
import time

import pytest

from tests.support.browser import (BUILD, Chromium, build_docs, chromium_executable,
                                   site_pages)
from tests.support.optional import missing

RULE_PAGES = sorted(p.stem for p in (pathlib.Path(BUILD).parent / "rules").glob("*.rst"))
GALLERY_PAGE = "auto_examples/weights_over_time.html"
SCREENSHOTS = os.path.join(BUILD, "screenshots")

# Resolves once MathJax has typeset the page (false if MathJax never started).
MATHJAX_DONE = """new Promise(resolve => {
  const started = Date.now();
  (function poll() {
    const mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(() => resolve(true), () => resolve(false));
    } else if (Date.now() - started > 30000) {
      resolve(false);
    } else {
      setTimeout(poll, 50);
    }
  })();
})"""
# Formulas Sphinx wrote (class "math") and how many of them MathJax replaced by its output.
COUNT_MATHS = """({
  formulas: document.querySelectorAll('div.math, span.math').length,
  rendered: document.querySelectorAll('div.math mjx-container, span.math mjx-container').length,
  raw: [...document.querySelectorAll('div.math, span.math')]
        .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
})"""
RAW_TEX = ("\\[", "\\(", "\\begin", "\\leftarrow", "\\frac", "\\operatorname")


# the docs build runs the gallery, whose standalone example compiles a program
pytestmark = [pytest.mark.slow, pytest.mark.standalone, pytest.mark.xdist_group("docs-build")]


@pytest.fixture(scope="module")
def site():
    if not chromium_executable():
        missing("chromium")
    started = time.time()
    html = build_docs()
    print(f"\ndocs built in {time.time() - started:.0f} s into {html}")
    return pathlib.Path(html)


@pytest.fixture(scope="module")
def browser(site):
    with Chromium() as chromium:
        yield chromium


def open_page(browser, site, page, screenshot=None, maths=True):
    """Open a built page; with ``maths``, wait for MathJax to finish typesetting."""
    path = site / page
    assert path.exists(), f"{page} was not built"
    return browser.open(path.as_uri(), ready=MATHJAX_DONE if maths else None,
                        screenshot=screenshot)


def assert_offline(page):
    assert page.requests, f"{page.url}: no request recorded (the log would miss them too)"
    assert page.remote_requests() == [], (f"{page.url} asked for files from other hosts: "
                                          f"{page.remote_requests()}")
    assert page.failed == [], f"{page.url}: requests failed: {page.failed}"
    assert page.pending() == [], f"{page.url}: requests never finished: {page.pending()}"
    assert page.errors == [], f"{page.url}: script errors: {page.errors}"


def assert_maths_rendered(page):
    counts = page.evaluate(COUNT_MATHS)
    assert counts["formulas"] > 0, f"{page.url} has no formula"
    assert counts["raw"] == [], f"{page.url}: formulas left as TeX: {counts['raw']}"
    assert counts["rendered"] == counts["formulas"], counts
    raw = [tex for tex in RAW_TEX if tex in page.text]
    assert raw == [], f"{page.url}: raw TeX in the visible text: {raw}"
    # MathJax's own fonts, served from the site, were used (not a fallback font).
    fonts = page.evaluate("[...document.fonts].filter(f => f.family.startsWith('MJX'))"
                          ".map(f => [f.family, f.status])")
    assert ["MJXTEX", "loaded"] in fonts, fonts
    assert not [f for f in fonts if f[1] == "error"], fonts


def test_the_request_log_sees_a_remote_load(browser, tmp_path):
    """The check below would catch a page that loads from elsewhere: a page asking for a
    remote script and font has them in its log (and they fail, not leaving the machine)."""
    page = tmp_path / "remote.html"
    page.write_text('<html><head><script src="https://cdn.example.invalid/x.js"></script>'
                    '<link rel="stylesheet" href="http://fonts.example.invalid/f.css">'
                    '</head><body>\\[x\\]</body></html>')
    loaded = browser.open(page.as_uri())
    assert sorted(loaded.remote_requests()) == ["http://fonts.example.invalid/f.css",
                                                "https://cdn.example.invalid/x.js"]
    assert len(loaded.failed) == 2
    assert "\\[" in loaded.text


@pytest.mark.parametrize("rule_page", RULE_PAGES)
def test_rule_page_renders_its_maths_offline(browser, site, rule_page):
    shot = os.path.join(SCREENSHOTS, f"{rule_page}.png")
    page = open_page(browser, site, f"rules/{rule_page}.html", screenshot=shot)
    print(f"screenshot: {shot}")
    assert_offline(page)
    assert_maths_rendered(page)
    assert os.path.getsize(shot) > 10000
    # The learning-window figure is there and decoded.
    windows = page.evaluate("[...document.images].filter(i => i.src.endsWith('_window.png'))"
                            ".map(i => [i.complete, i.naturalWidth])")
    assert windows and all(done and width > 0 for done, width in windows), windows


def test_gallery_page_shows_its_figure_offline(browser, site):
    shot = os.path.join(SCREENSHOTS, "gallery_weights_over_time.png")
    page = open_page(browser, site, GALLERY_PAGE, screenshot=shot, maths=False)
    print(f"screenshot: {shot}")
    assert_offline(page)
    figures = page.evaluate("[...document.images].filter(i => i.src.includes('sphx_glr_'))"
                            ".map(i => [i.complete, i.naturalWidth])")
    assert figures and all(done and width > 100 for done, width in figures), figures
    assert "mean weight from the busy inputs" in page.text   # the script's output is shown
    index = open_page(browser, site, "auto_examples/index.html", maths=False)
    assert_offline(index)
    thumbnails = index.evaluate("[...document.querySelectorAll('.sphx-glr-thumbcontainer')]"
                                ".length")
    examples = len([f for f in os.listdir(os.path.join(os.path.dirname(BUILD), os.pardir,
                                                       "examples")) if f.endswith(".py")])
    assert thumbnails == examples


def test_every_page_is_offline(browser, site):
    """Every page of the site, not a chosen few: a page added later that loads from a CDN (as
    sphinx-gallery's execution-times pages did) fails here."""
    pages = site_pages(site)
    sources = [p for p in pathlib.Path(BUILD).parent.rglob("*.rst")
               if "_build" not in p.parts and p.name != "sg_execution_times.rst"]
    assert len(pages) >= len(sources) > 0, (pages, sources)
    for name in pages:
        assert_offline(open_page(browser, site, name, maths=False))
    print(f"\n{len(pages)} pages checked offline")


def test_every_page_check_sees_a_page_loading_from_a_cdn(browser, tmp_path):
    """The page list and the check together catch a CDN page anywhere in the tree."""
    (tmp_path / "index.html").write_text("<html><body>fine</body></html>")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "times.html").write_text(
        '<html><head><script src="https://code.jquery.com/jquery-3.7.0.js"></script></head>'
        '<body>times</body></html>')
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "theme.html").write_text("<html></html>")
    assert site_pages(tmp_path) == ["index.html", "sub/times.html"]
    assert_offline(open_page(browser, tmp_path, "index.html", maths=False))
    with pytest.raises(AssertionError, match="asked for files from other hosts"):
        assert_offline(open_page(browser, tmp_path, "sub/times.html", maths=False))
