"""Print the single-page build of the book to PDF with headless Chromium.

    python tools/print_pdf.py _build/singlehtml/index.html _build/pdf/book.pdf

``python3 tasks.py pdf`` builds ``_build/singlehtml`` (Jupyter Book's ``singlehtml`` builder,
which reuses the notebooks executed for the HTML book) and then runs this. The page is served
from a local HTTP server with every other request refused, exactly as the browser test serves
the HTML book; before printing, this waits for MathJax to typeset every formula and for every
image to load, and it stops with an error when a formula failed to typeset or an image is
missing, so a PDF with broken equations or figures is never written. Interactive figures print
the frame they show when the page opens (the kernel-free sliders start on a representative
frame), and collapsed checks stay collapsed.
"""

from __future__ import annotations

import functools
import http.server
import re
import sys
import threading
from pathlib import Path

from tools.offline_assets import find_chromium

# Print-only adjustments: no navigation chrome, no launch buttons, code that wraps instead of
# scrolling, and figures that do not split across pages.
PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer, .header-article,
.prev-next-area, .bd-header-article, .article-header-buttons, .skip-link,
.course-static-slider input, .course-static-slider label, .course-static-slider button,
.bd-footer-article, .footer-article, #pst-back-to-top { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
.bd-page-width { max-width: 100% !important; }
pre { white-space: pre-wrap !important; word-break: break-word; }
img, figure, .cell_output, mjx-container[display="true"] { break-inside: avoid; }
h1 { break-before: page; }
"""

WAIT_FOR_CONTENT = """async () => {
  const problems = [];
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
    for (const item of window.MathJax.startup.document.math) {
      const mml = window.MathJax.startup.toMML(item.root);
      if (/<merror|mathcolor="red"/.test(mml)) problems.push('TeX error: ' + item.math);
    }
  } else if (document.querySelector('.math')) {
    problems.push('MathJax did not load');
  }
  const images = Array.from(document.images);
  images.forEach(img => { if (img.loading === 'lazy') img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); })));
  for (const img of images)
    if (!img.naturalWidth && img.getAttribute('aria-hidden') !== 'true')
      problems.push('image did not load: ' + (img.getAttribute('src') || '').slice(0, 80));
  return {problems, formulas: document.querySelectorAll('mjx-container').length,
          images: images.length};
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def page_count(pdf: Path) -> int:
    """The number of pages of a PDF that Chromium wrote (its page objects)."""
    return len(re.findall(rb"/Type\s*/Page(?!s)", Path(pdf).read_bytes()))


def print_pdf(index: Path, out: Path) -> dict:
    """Print ``index`` (an HTML file) to ``out``; returns what was checked and the page count."""
    from playwright.sync_api import sync_playwright

    index, out = Path(index).resolve(), Path(out).resolve()
    if not index.is_file():
        raise FileNotFoundError(f"{index} does not exist: build the single-page book first")
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("no Chromium found (apt-get install chromium, or set $CHROMIUM)")
    handler = functools.partial(_Quiet, directory=str(index.parent))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu",
                                                       "--disable-dev-shm-usage"])
            context = browser.new_context(viewport={"width": 1100, "height": 1400})
            context.route("**/*", lambda route: route.continue_()
                          if route.request.url.startswith((base, "data:", "blob:"))
                          else route.abort("internetdisconnected"))
            page = context.new_page()
            page.set_default_timeout(120_000)
            # Jupyter Book's index.html only redirects to the root page: open that one.
            target = index.name
            redirect = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"',
                                 index.read_text(errors="replace"), re.I)
            if redirect:
                # The single page lives in book/ but Sphinx writes its image paths relative to
                # the build's root (and its ../_static paths still resolve from there): print
                # a copy placed at the root.
                page_file = index.parent / redirect.group(1)
                target = "_print_" + page_file.name
                (index.parent / target).write_bytes(page_file.read_bytes())
            page.goto(base + target, wait_until="load")
            page.add_style_tag(content=PRINT_CSS)
            page.emulate_media(media="print")
            found = page.evaluate(WAIT_FOR_CONTENT)
            if found["problems"]:
                raise RuntimeError("the PDF was not written:\n  " + "\n  ".join(
                    found["problems"][:20]))
            out.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(out), format="A4", print_background=True,
                     display_header_footer=True, header_template="<span></span>",
                     footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                                     '<span class="pageNumber"></span></div>',
                     margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"})
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    return {**found, "pages": page_count(out), "bytes": out.stat().st_size}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: python {Path(__file__).name} INDEX.html OUT.pdf")
    result = print_pdf(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{sys.argv[2]}: {result['pages']} pages, {result['bytes'] / 1e6:.1f} MB, "
          f"{result['formulas']} formulas typeset, {result['images']} images")
