"""The built HTML book as a reader sees it: headless Chromium, with no network.

The pages are served from ``_build/html`` by a local HTTP server on 127.0.0.1 and every
request to any other address is aborted and recorded, so a page that needs a CDN fails here.
For every page of ``_toc.yml``:

* it loads without JavaScript errors (uncaught exceptions, console errors, failed requests);
* MathJax (the local copy) typesets every formula, without TeX errors, and no raw TeX
  delimiters are left in the text outside code;
* every ``<img>`` has loaded (non-zero natural width); saved ipywidgets state renders;
* each kernel-free interactive figure (``course_lib.viz.static_widgets``) responds: moving a
  slider with the keyboard changes the frame shown;
* a notebook page's Binder and Colab links open that notebook of the configured repository;
* the reader's experience: the page with its images weighs at most ``MAX_PAGE_BYTES``, its
  first screen (title and the figures on it) is painted within ``MAX_FIRST_PAINT_MS`` of the
  navigation's start, no line of code is cut off behind a scrollbar, every content image has
  alternative text that describes it (not its file name) and an opaque background, so it stays
  legible in the theme's dark mode. The measurements of every page are printed as a table and
  written to ``_build/reader_metrics.md``.

Screenshots of three pages are saved under ``_build/screenshots/``. The book-level tests skip
only when the book has not been built (``python3 tasks.py test`` builds it before running this
file); Chromium is Debian's ``chromium`` (``tools/offline_assets.py --chromium`` installs
it) or ``$CHROMIUM``; Playwright drives it and never downloads a browser.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tools import offline_assets

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = HTML.parent / "screenshots"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())

# Pages that must carry kernel-free interactive figures, and how many at least (issue 7: the
# momentum explorer and an optimizer comparison).
EXPECTED_INTERACTIVE = {"book/momentum": 2}
SCREENSHOT_PAGES = ("book/intro", "book/learning_as_optimization", "book/momentum")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps", "--disable-extensions",
                 "--disable-quic", "--no-first-run", "--no-default-browser-check"]
TIMEOUT_MS = 30_000
MAX_PAGE_BYTES = 2_000_000      # the HTML document plus every image it shows
MAX_FIRST_PAINT_MS = 1_500      # navigation start to the first screen painted
FIRST_SCREEN_PX = 900           # the first screen of a 1280 x 900 window
METRICS: dict[str, dict] = {}




def toc_pages() -> list[str]:
    pages = [TOC["root"]]
    for part in TOC.get("parts", []):
        pages += [chapter["file"] for chapter in part["chapters"]]
    return pages


def source_of(page: str) -> Path | None:
    for suffix in (".ipynb", ".md"):
        if (ROOT / f"{page}{suffix}").exists():
            return ROOT / f"{page}{suffix}"
    return None


# ----------------------------------------------------------------------------- fixtures

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def served(directory):
    """``directory`` over HTTP on 127.0.0.1, on a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def server():
    """``_build/html`` over HTTP on 127.0.0.1, on a free port; yields the base URL."""
    with served(HTML) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs Playwright's Python package "
                    "(requirements.txt: playwright==1.65.2)")
    chromium = offline_assets.find_chromium()
    if chromium is None:
        pytest.fail("no Chromium found: install Debian's package (as root: "
                    "python3 tools/offline_assets.py --chromium, or apt-get install -y chromium) "
                    "or set CHROMIUM=/path/to/chrome")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def built():
    if not (HTML / "index.html").exists():
        pytest.skip(f"the book has not been built ({HTML} has no index.html): run "
                    "`python3 tasks.py book`; `python3 tasks.py test` builds it before this test")
    return HTML


class Visit:
    """One page in a fresh browser context that may reach only the local server."""

    def __init__(self, browser, base: str):
        self.base = base
        self.blocked, self.errors = [], []
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000},
                                           service_workers="block")
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.on("console", self._console)
        self.page.on("requestfailed", lambda r: self.errors.append(
            f"request failed: {r.url} ({r.failure})") if r.url.startswith(self.base) else None)
        self.page.on("response", lambda r: self.errors.append(
            f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")

    def _console(self, message):
        if message.type == "error":
            text = message.text
            if "net::ERR_INTERNET_DISCONNECTED" in text:   # reported by self.blocked
                return
            self.errors.append(f"console: {text}")

    def open(self, path: str):
        self.page.goto(self.base + path, wait_until="load")
        return self.page

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, server):
    visits = []

    def make():
        v = Visit(browser, server)
        visits.append(v)
        return v

    yield make
    for v in visits:
        v.close()


# ----------------------------------------------------------------------------- page checks

WAIT_FOR_MATHJAX = """async () => {
  const math = document.querySelectorAll('.math');
  if (!window.MathJax || !window.MathJax.startup || !window.MathJax.startup.promise)
    return {formulas: math.length, version: null};
  await window.MathJax.startup.promise;
  const problems = [];
  for (const item of window.MathJax.startup.document.math) {
    const mml = window.MathJax.startup.toMML(item.root);
    if (/<merror|mathcolor="red"/.test(mml)) problems.push(item.math);
  }
  const untypeset = Array.from(math).filter(el => !el.querySelector('mjx-container'))
                         .map(el => el.textContent.slice(0, 80));
  return {formulas: math.length, version: window.MathJax.version, problems, untypeset};
}"""

# The article's text outside code, scripts and typeset math.
VISIBLE_TEXT = """() => {
  const root = document.querySelector('article') || document.body;
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .MathJax';
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {acceptNode: n =>
    n.parentElement && n.parentElement.closest(skip) ? NodeFilter.FILTER_REJECT
                                                      : NodeFilter.FILTER_ACCEPT});
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
  return parts.join(' ');
}"""

RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|(?<![\w\\])\$[^$\s][^$\n]*\$")

WAIT_FOR_IMAGES = """async () => {
  const images = Array.from(document.images);
  for (const img of images) {
    if (img.loading === 'lazy') { img.loading = 'eager'; }
  }
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); })));
  return images.map(img => ({src: img.currentSrc.slice(0, 120), width: img.naturalWidth}));
}"""


def check_page(visit_, page_name: str, screenshot: bool = False):
    v = visit_()
    page = v.open(f"{page_name}.html")
    report = []

    math = page.evaluate(WAIT_FOR_MATHJAX)
    if math["formulas"]:
        if not math["version"]:
            report.append(f"{math['formulas']} formulas but MathJax did not load")
        else:
            if not math["version"].startswith("3."):
                report.append(f"MathJax {math['version']}, expected 3.x")
            if math["problems"]:
                report.append(f"TeX errors in: {math['problems'][:5]}")
            if math["untypeset"]:
                report.append(f"formulas not typeset: {math['untypeset'][:5]}")
    text = page.evaluate(VISIBLE_TEXT)
    raw = sorted({m.group(0)[:40] for m in RAW_TEX.finditer(text)})
    if raw:
        report.append(f"raw TeX left in the text: {raw[:10]}")

    # ipywidgets saved state: the local embed manager renders one view per saved view
    views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if views:
        try:
            page.wait_for_function(
                "n => document.querySelectorAll('.widget-subarea > *').length >= n", arg=views)
        except Exception:
            report.append(f"{views} saved widget views did not render")

    images = page.evaluate(WAIT_FOR_IMAGES)
    broken = [img["src"] for img in images if img["width"] == 0]
    if broken:
        report.append(f"images that did not load: {broken}")

    report += check_reader_experience(page, page_name)
    report += check_sliders(page, page_name)
    report += check_launch_links(page, page_name)
    if screenshot:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # the most telling part of the page: an interactive figure, else a displayed formula
        for selector in (".course-static-slider", ".widget-subarea", "div.math", "img"):
            target = page.locator(selector).first
            if target.count():
                target.evaluate("el => el.scrollIntoView({block: 'start'})")
                page.evaluate("window.scrollBy(0, -80)")
                page.wait_for_timeout(300)
                break
        page.screenshot(path=str(SCREENSHOTS / f"{page_name.replace('/', '_')}.png"))

    report += [f"request to a non-local address blocked: {u}" for u in v.blocked]
    report += v.errors
    return report


READER_CHECKS = r"""async (firstScreen) => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const root = document.querySelector('article') || document.querySelector('main')
               || document.body;
  const content = Array.from(root.querySelectorAll('img'))
                       .filter(img => img.getAttribute('aria-hidden') !== 'true');
  // first screen: the title's paint, and every image above the fold loaded
  let painted = fcp ? fcp.startTime : null;
  for (const img of content) {
    const top = img.getBoundingClientRect().top + window.scrollY;
    if (top >= firstScreen) continue;
    const src = img.currentSrc || img.src;
    const entry = src.startsWith('data:') ? null : performance.getEntriesByName(src)[0];
    const ready = entry ? entry.responseEnd : nav.domInteractive;
    painted = Math.max(painted || 0, ready);
  }
  const files = Array.from(document.images).map(img => img.currentSrc || img.src)
                     .filter(src => src && !src.startsWith('data:'));
  // code that runs off the page: a code cell's input wider than its box
  const overflow = Array.from(root.querySelectorAll('.cell_input pre, div.highlight pre'))
      .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
      .map(pre => {
        const lines = pre.textContent.split('\n');
        return lines.reduce((a, b) => (b.length > a.length ? b : a), '').slice(0, 90);
      });
  // alternative text: present, and not a file name
  const fileName = /^[\w.\-/]+\.(png|jpe?g|gif|svg|webp)$/i;
  const badAlt = content.filter(img => {
      const alt = (img.getAttribute('alt') || '').trim();
      const name = (img.getAttribute('src') || '').split('/').pop();
      return !alt || fileName.test(alt) || alt === name;
    }).map(img => (img.getAttribute('alt') || '(none)') + ' <- '
                  + (img.getAttribute('src') || '').slice(0, 60));
  // opaque pixels in the corners: legible on the dark theme's background
  const transparent = [];
  for (const img of content.slice(0, 80)) {
    if (!img.naturalWidth) continue;
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d');
    try {
      g.drawImage(img, 0, 0);
      const a = g.getImageData(1, 1, 1, 1).data[3];
      const b = g.getImageData(c.width - 2, c.height - 2, 1, 1).data[3];
      if (a < 255 || b < 255) transparent.push((img.getAttribute('src') || '').slice(0, 60));
    } catch (e) { /* an SVG or cross-origin image: not checked */ }
  }
  return {painted, fcp: fcp ? fcp.startTime : null, files, overflow, badAlt, transparent};
}"""


def check_reader_experience(page, page_name: str) -> list[str]:
    """Page weight, first paint, code width, alternative text and opaque figures."""
    found = page.evaluate(READER_CHECKS, FIRST_SCREEN_PX)
    html_bytes = (HTML / f"{page_name}.html").stat().st_size
    image_bytes = 0
    for src in set(found["files"]):
        path = urlsplit(src).path.lstrip("/")
        if (HTML / path).is_file() and not path.endswith((".js", ".css")):
            image_bytes += (HTML / path).stat().st_size
    weight = html_bytes + image_bytes
    METRICS[page_name] = {"bytes": weight, "painted_ms": found["painted"],
                          "fcp_ms": found["fcp"]}
    report = []
    if weight > MAX_PAGE_BYTES:
        report.append(f"page weight {weight / 1e6:.2f} MB (HTML {html_bytes / 1e6:.2f} MB + "
                      f"images {image_bytes / 1e6:.2f} MB) > {MAX_PAGE_BYTES / 1e6:.1f} MB")
    if found["painted"] is None:
        report.append("no first contentful paint was recorded")
    elif found["painted"] > MAX_FIRST_PAINT_MS:
        report.append(f"first screen painted after {found['painted']:.0f} ms "
                      f"> {MAX_FIRST_PAINT_MS} ms")
    report += [f"code line cut off behind a scrollbar: {line!r}" for line in found["overflow"]]
    report += [f"image without a descriptive alt: {bad}" for bad in found["badAlt"]]
    report += [f"image with a transparent background (illegible in dark mode): {src}"
               for src in found["transparent"]]
    return report


@pytest.fixture(scope="session", autouse=True)
def reader_metrics_table():
    """Print the page-weight and first-paint table of the pages checked in this session."""
    yield
    if not METRICS:
        return
    lines = ["| page | weight (MB) | first screen painted (ms) | first contentful paint (ms) |",
             "|---|---|---|---|"]
    for name, m in METRICS.items():
        painted = "—" if m["painted_ms"] is None else f"{m['painted_ms']:.0f}"
        fcp = "—" if m["fcp_ms"] is None else f"{m['fcp_ms']:.0f}"
        lines.append(f"| {name} | {m['bytes'] / 1e6:.2f} | {painted} | {fcp} |")
    text = "\n".join(lines)
    print("\n" + text)
    if HTML.parent.is_dir():
        (HTML.parent / "reader_metrics.md").write_text(text + "\n")


def check_sliders(page, page_name: str) -> list[str]:
    report = []
    figures = page.locator(".course-static-slider")
    expected = EXPECTED_INTERACTIVE.get(page_name, 0)
    if figures.count() < expected:
        report.append(f"expected at least {expected} kernel-free interactive figures "
                      f"(course_lib.viz.static_widgets), found {figures.count()}")
    for i in range(figures.count()):
        figure = figures.nth(i)
        if figure.get_attribute("data-ready") != "1":
            report.append(f"interactive figure {i}: its script did not run")
            continue
        image = figure.locator("img").first          # the key image; a layer may lie on top
        shown = figure.evaluate("f => Array.from(f.querySelectorAll('img')).map(i => "
                                "i.getAttribute('src') + i.style.visibility).join()")
        sliders = figure.locator('input[type="range"]')
        changed_image = False
        for j in range(sliders.count()):
            slider = sliders.nth(j)
            frame, src = figure.get_attribute("data-frame"), shown
            at_end = slider.input_value() == slider.get_attribute("max")
            slider.focus()
            slider.press("Home" if at_end else "End")      # as a reader would, with keys
            if figure.get_attribute("data-frame") == frame:
                report.append(f"interactive figure {i}: moving slider {j} did not change "
                              "the frame")
            shown = figure.evaluate("f => Array.from(f.querySelectorAll('img')).map(i => "
                                    "i.getAttribute('src') + i.style.visibility).join()")
            changed_image |= shown != src
            output = figure.locator("output").nth(j).inner_text()
            if output != slider.get_attribute("aria-valuetext"):
                report.append(f"interactive figure {i}: slider {j} shows {output!r}")
        if not changed_image:
            report.append(f"interactive figure {i}: the image never changed")
        natural = image.evaluate("img => img.complete && img.naturalWidth")
        if not natural:
            report.append(f"interactive figure {i}: the frame shown did not load")
    return report


def expected_launch_links(notebook: str) -> dict[str, str]:
    repo = CONFIG["repository"]
    org_repo = urlsplit(repo["url"]).path.strip("/")
    branch = repo.get("branch", "main")
    path = "/".join(p for p in (repo.get("path_to_book", "").strip("/"), notebook) if p)
    launch = CONFIG["launch_buttons"]
    ui = {"classic": "tree", "jupyterlab": "lab/tree"}[launch.get("notebook_interface",
                                                                  "classic")]
    return {
        "Binder": f"{launch['binderhub_url'].rstrip('/')}/v2/gh/{org_repo}/{branch}"
                  f"?urlpath={ui}/{path}",
        "Colab": f"{launch['colab_url'].rstrip('/')}/github/{org_repo}/blob/{branch}/{path}",
    }


def check_launch_links(page, page_name: str) -> list[str]:
    source = source_of(page_name)
    # The page's own launch buttons; links into homework/release/ (a chapter's assignment)
    # are checked separately: they must name a released notebook that exists.
    hrefs = "as => as.map(a => a.href)"
    binder = page.eval_on_selector_all('a[href*="/v2/gh/"]', hrefs)
    colab = page.eval_on_selector_all('a[href*="colab.research.google.com/github/"]', hrefs)
    homework = [h for h in binder + colab if "/homework/release/" in h]
    binder = [h for h in binder if h not in homework]
    colab = [h for h in colab if h not in homework]
    report = [f"homework link to a missing notebook: {h}" for h in homework
              if not (ROOT / ("homework/release/" + h.split("/homework/release/")[1])).is_file()]
    if source is None or source.suffix != ".ipynb":
        return report + ([f"launch links on a page that is not a notebook: {binder + colab}"]
                         if binder + colab else [])
    notebook = source.relative_to(ROOT).as_posix()
    expected = expected_launch_links(notebook)
    for name, found in (("Binder", binder), ("Colab", colab)):
        if found != [expected[name]]:
            report.append(f"{name} link {found}, expected [{expected[name]!r}]")
    return report


# ----------------------------------------------------------------------------- tests

@pytest.mark.parametrize("page_name", toc_pages())
def test_page_in_chromium_offline(built, visit, page_name):
    assert (built / f"{page_name}.html").is_file(), \
        f"_toc.yml lists {page_name} but the build has no {page_name}.html: rebuild the book"
    report = check_page(visit, page_name, screenshot=page_name in SCREENSHOT_PAGES)
    assert not report, f"{page_name}.html:\n  " + "\n  ".join(report)


def test_root_index_leads_to_the_first_page(built, visit):
    v = visit()
    page = v.open("index.html")
    page.wait_for_url(re.compile(re.escape(TOC["root"]) + r"\.html$"))
    assert not v.blocked and not v.errors, v.blocked + v.errors


def test_launch_link_rule_matches_the_configuration():
    # the rule the page check applies, spelled out once for a reader of this file
    links = expected_launch_links("book/momentum.ipynb")
    url = CONFIG["repository"]["url"]
    assert links["Colab"].endswith(url.split("github.com/")[1] + "/blob/"
                                   + CONFIG["repository"]["branch"] + "/book/momentum.ipynb")
    assert links["Binder"].endswith("?urlpath=tree/book/momentum.ipynb")


def test_precomputed_slider_in_chromium(visit, tmp_path):
    """The component on its own (no book needed): keys and clicks change frame and label."""
    import io

    from PIL import Image

    from course_lib.viz.static_widgets import precomputed_slider

    def png(color):
        buffer = io.BytesIO()
        Image.new("RGB", (20, 10), color).save(buffer, format="PNG")
        return buffer.getvalue()

    frames = {(a, b): png((40 * i, 100 * j, 0)) for i, a in enumerate([1, 2, 3])
              for j, b in enumerate(["x", "y"])}
    html = "".join(precomputed_slider(frames, [("a", [1, 2, 3]), ("b", ["x", "y"])]).data
                   for _ in range(2))
    (tmp_path / "index.html").write_text(f"<!doctype html><meta charset=utf-8><body>{html}")
    with served(tmp_path) as base:
        v = visit()
        v.base = base
        page = v.open("index.html")
        first, second = page.locator(".course-static-slider").all()
        assert first.get_attribute("data-frame") == "0"
        assert first.locator("img").nth(1).evaluate("i => i.style.visibility") == "hidden"
        first.locator("input").nth(0).focus()
        page.keyboard.press("ArrowRight")                  # a = 2
        assert first.get_attribute("data-frame") == "2"
        assert first.locator("output").nth(0).inner_text() == "2"
        first.locator("input").nth(1).focus()
        page.keyboard.press("End")                         # b = "y"
        assert first.get_attribute("data-frame") == "3"
        assert first.locator("output").nth(1).inner_text() == "y"
        colour = first.locator("img").first.evaluate("""img => { const c = document.createElement(
            'canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
            const g = c.getContext('2d'); g.drawImage(img, 0, 0);
            return Array.from(g.getImageData(5, 5, 1, 1).data.slice(0, 3)); }""")
        assert colour == [40, 100, 0]                      # the frame of (2, "y")
        assert second.get_attribute("data-frame") == "0", "the two figures are independent"
        box = first.locator("input").nth(0).bounding_box()  # a click at the right end: a = 3
        page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
        assert first.get_attribute("data-frame") == "5"
        assert not v.errors and not v.blocked, v.errors + v.blocked


def test_layered_frames_and_play_button_in_chromium(visit, tmp_path):
    """Frames stored as a key image plus transparent layers (course_lib.viz.static_widgets) show
    the right pixels in a real browser, and the play button steps through them."""
    import numpy as np

    from course_lib.viz.static_widgets import frames_player

    frames = []
    for k in range(4):
        rgb = np.full((30, 40, 3), 255, np.uint8)
        rgb[10:20, 5 + 8 * k: 12 + 8 * k] = (200, 30, 30)    # a red square moving right
        frames.append(rgb)
    html = frames_player(frames, interval=50, alt="a moving square", fmt="png").data
    (tmp_path / "index.html").write_text(f"<!doctype html><meta charset=utf-8><body>{html}")
    with served(tmp_path) as base:
        v = visit()
        v.base = base
        page = v.open("index.html")
        figure = page.locator(".course-static-slider")
        pixel = """(f, xy) => { const c = document.createElement('canvas');
            c.width = 40; c.height = 30; const g = c.getContext('2d');
            for (const img of f.querySelectorAll('img'))
              if (img.style.visibility !== 'hidden') g.drawImage(img, 0, 0, 40, 30);
            return Array.from(g.getImageData(xy[0], xy[1], 1, 1).data.slice(0, 3)); }"""
        assert figure.evaluate(pixel, [6, 15]) == [200, 30, 30]      # frame 0: square at x=5
        figure.locator("button").click()
        page.wait_for_function("() => document.querySelector('.course-static-slider')"
                               ".getAttribute('data-frame') === '3'")
        assert figure.evaluate(pixel, [6, 15]) == [255, 255, 255]    # frame 3: moved away
        assert figure.evaluate(pixel, [30, 15]) == [200, 30, 30]     # ... to x = 29
        assert figure.locator("button").inner_text().strip().endswith("play")
        assert not v.errors and not v.blocked, v.errors + v.blocked
