#!/usr/bin/env python3
"""JavaScript the HTML book needs at read time, installed locally so the book works offline.

Out of the box, Sphinx loads MathJax from a CDN and myst-nb loads RequireJS and the ipywidgets
embed manager from two more; a reader without network access (or a CDN outage) then sees raw
TeX and empty widget outputs. This module fetches pinned releases of those packages from the
npm registry with ``npm pack`` (the registry's ordinary client), checks each tarball against
the SHA-512 pinned below, and unpacks the files a page needs into ``_build/offline_assets``
(git-ignored, like every build output). ``_config.yml`` adds that folder to
``html_static_path`` and points ``mathjax_path`` and ``nb_ipywidgets_js`` at the copies, so
they are served from the book's own ``_static/``.

It is used three ways, and needs only the standard library:

* as a Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``): every
  ``jupyter-book build`` fetches the assets if they are missing and fails with a clear error
  if ``_config.yml`` points anywhere else; it also drops the CDN stylesheet that Matplotlib's
  animation player links, and a duplicated sphinx-thebe script that throws on every page;
* from ``tasks.py``: ``ensure_assets()`` before the build, ``ensure_chromium()`` before the
  browser test (installs Debian's ``chromium`` when it is missing and we are root);
* from the command line: ``python3 tools/offline_assets.py [--chromium]``.

Licenses: MathJax is Apache-2.0, RequireJS MIT, @jupyter-widgets/html-manager BSD-3-Clause;
each package's LICENSE/package.json is copied next to its files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "_build" / "offline_assets"
MANIFEST = ".manifest.json"   # dot-files are not copied into the HTML by Sphinx


@dataclass(frozen=True)
class Package:
    spec: str            # npm name@version, exact
    integrity: str       # the registry's dist.integrity (sha512 of the tarball)
    dest: str            # folder under ASSETS (and so under _static/ in the HTML)
    keep: tuple          # paths inside the package (prefixes for folders) to unpack


PACKAGES = (
    # MathJax 3: the combined TeX+MathML input / CommonHTML output component and what it loads
    # on demand (TeX extensions through autoload, fonts, the context menu, accessibility).
    Package("mathjax@3.2.2",
            "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
            "mathjax",
            ("LICENSE", "package.json", "es5/tex-mml-chtml.js", "es5/input/", "es5/output/chtml.js",
             "es5/output/chtml/", "es5/ui/", "es5/a11y/", "es5/sre/", "es5/adaptors/")),
    # RequireJS: the AMD loader the widget embed manager is written for (what myst-nb loads).
    Package("requirejs@2.3.8",
            "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
            "requirejs", ("package.json", "require.js")),
    # The ipywidgets 8 embed manager: renders the widget state saved in executed notebooks
    # (ipywidgets 8.1 = @jupyter-widgets/controls 5 / base 6 = html-manager 1.0). Its bundle
    # includes base, controls and output widgets; fonts sit beside it in dist/.
    Package("@jupyter-widgets/html-manager@1.0.15",
            "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
            "html-manager",
            ("package.json", "dist/embed-amd.js", "dist/embed.js.LICENSE.txt", "dist/*.woff2",
             "dist/*.woff", "dist/*.ttf", "dist/*.eot", "dist/*.svg")),
)

# Our own files, copied beside the packages: {path under ASSETS: source}.
LOCAL_FILES = {"course/widgets-offline.js": ROOT / "tools" / "widgets_offline.js",
               "course/book.css": ROOT / "tools" / "book.css"}

# What _config.yml must say (checked by the Sphinx extension below).
MATHJAX_PATH = "mathjax/es5/tex-mml-chtml.js"
IPYWIDGETS_JS = ("requirejs/require.js", "course/widgets-offline.js",
                 "html-manager/dist/embed-amd.js")


class AssetError(RuntimeError):
    """The offline assets could not be installed or are not configured."""


def _manifest() -> dict:
    return {p.spec: p.integrity for p in PACKAGES}


def assets_ready(target: Path = ASSETS) -> bool:
    try:
        return json.loads((target / MANIFEST).read_text()) == _manifest()
    except (OSError, ValueError):
        return False


def _wanted(name: str, keep: tuple) -> bool:
    from fnmatch import fnmatchcase
    for pattern in keep:
        if "*" in pattern:
            if fnmatchcase(name, pattern) and "/" not in name[len(pattern.split("*")[0]):]:
                return True
        elif name == pattern or (pattern.endswith("/") and name.startswith(pattern)):
            return True
    return False


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError(
            "npm is needed once to fetch MathJax and the ipywidgets embed manager for the "
            "offline HTML book; install Node.js and npm (Debian: apt-get install -y npm; macOS: "
            "brew install node) and build again.")
    return npm


def _fetch(package: Package, into: Path, workdir: Path) -> None:
    """``npm pack`` one package, check its SHA-512, unpack the kept files into ``into``."""
    result = subprocess.run(
        [_npm(), "pack", package.spec, "--json", "--silent", "--prefer-offline",
         "--pack-destination", str(workdir)],
        cwd=workdir, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssetError(f"npm pack {package.spec} failed (exit {result.returncode}):\n"
                         f"{result.stderr.strip()[-2000:]}")
    try:
        filename = json.loads(result.stdout)[0]["filename"]
    except (ValueError, LookupError, TypeError) as err:
        raise AssetError(
            f"npm pack {package.spec}: unexpected output {result.stdout[:500]!r}") from err
    tarball = workdir / filename
    algorithm, _, expected = package.integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
    if digest != expected:
        raise AssetError(f"{package.spec}: the tarball's {algorithm} is {digest}, "
                         f"expected {expected} (pinned in {Path(__file__).name})")
    dest = into / package.dest
    count = 0
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith("package/"):
                continue
            name = member.name[len("package/"):]
            parts = Path(name).parts
            if not name or name.startswith("/") or ".." in parts or not _wanted(name, package.keep):
                continue
            out = dest / name
            out.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            count += 1
    missing = [k for k in package.keep if "*" not in k and not k.endswith("/")
               and not (dest / k).exists()]
    if missing or count == 0:
        raise AssetError(f"{package.spec}: files missing from the tarball: {missing}")
    tarball.unlink()


def ensure_assets(target: Path = ASSETS, *, quiet: bool = False) -> Path:
    """Install the pinned JavaScript into ``target`` unless it is already there; return it.

    Safe to call concurrently (two builds at once): each fetch goes to a fresh folder that is
    renamed into place; the loser of a race keeps the winner's identical copy.
    """
    target = Path(target)
    if not assets_ready(target):
        _install_packages(target, quiet)
    for name, source in LOCAL_FILES.items():
        out = target / name
        data = source.read_bytes()
        if not out.exists() or out.read_bytes() != data:
            out.parent.mkdir(parents=True, exist_ok=True)
            partial = out.with_name(f".{out.name}.{os.getpid()}")
            partial.write_bytes(data)
            os.replace(partial, out)
    return target


def _install_packages(target: Path, quiet: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"Fetching MathJax and the ipywidgets embed manager from npm into {target} ...",
              flush=True)
    staging = Path(tempfile.mkdtemp(prefix=".offline_assets-", dir=target.parent))
    try:
        with tempfile.TemporaryDirectory() as work:
            for package in PACKAGES:
                _fetch(package, staging, Path(work))
        (staging / MANIFEST).write_text(json.dumps(_manifest(), indent=1))
        if assets_ready(target):          # another process finished first
            return
        if target.exists():               # a stale copy (older pins): move it aside first
            stale = Path(tempfile.mkdtemp(prefix=".offline_assets-old-", dir=target.parent))
            os.replace(target, stale / "old")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(staging, target)
        except OSError:
            if not assets_ready(target):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------- Chromium

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MACOS_CHROME = ("/Applications/Chromium.app/Contents/MacOS/Chromium",
                "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")


def find_chromium() -> str | None:
    """The browser the tests drive: ``$CHROMIUM`` if set, else Chromium/Chrome on the PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    for path in MACOS_CHROME:
        if Path(path).exists():
            return path
    return None


def ensure_chromium() -> str:
    """Return the path of a Chromium to test with, installing Debian's ``chromium`` (as root,
    with apt-get) when none is found. CI machines start without one."""
    found = find_chromium()
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        print("+ apt-get install chromium (the browser test needs it)", flush=True)
        subprocess.run([apt, "update", "-qq"], check=True, env=env)
        subprocess.run([apt, "install", "-y", "-qq", "chromium"],   # with its fonts
                       check=True, env=env, stdout=subprocess.DEVNULL)
        found = find_chromium()
        if found:
            return found
    raise AssetError(
        "The browser test needs Chromium and none was found. On Debian/Ubuntu run "
        "'sudo apt-get install -y chromium'; elsewhere install Chromium or Chrome and set "
        "CHROMIUM=/path/to/the/binary.")


# --------------------------------------------------------------------------- Sphinx extension

def _check_config(app, config) -> None:
    from sphinx.errors import ExtensionError

    try:
        target = ensure_assets()
    except AssetError as err:
        raise ExtensionError(str(err)) from err
    confdir = Path(app.confdir)
    static = [(confdir / p).resolve() for p in config.html_static_path]
    problems = []
    if target.resolve() not in static:
        problems.append(f"html_static_path must list {os.path.relpath(target, confdir)}")
    if config.mathjax_path != MATHJAX_PATH:
        problems.append(f"mathjax_path must be {MATHJAX_PATH!r} (got {config.mathjax_path!r})")
    widgets_js = tuple(getattr(config, "nb_ipywidgets_js", None) or ())
    if widgets_js != IPYWIDGETS_JS:
        problems.append(f"nb_ipywidgets_js must load {list(IPYWIDGETS_JS)} "
                        f"(got {list(widgets_js)})")
    if problems:
        raise ExtensionError("The HTML book must not load JavaScript from a CDN; in _config.yml "
                             "(sphinx.config): " + "; ".join(problems))


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated identical <script> entries. sphinx-thebe 0.3.1 registers its inline
    configuration (``const THEBE_JS_URL = ...``) twice under Sphinx 7, and the second copy
    throws "Identifier 'THEBE_JS_URL' has already been declared" on every page. (Runs early:
    html-page-context stops at the first handler that returns a template name.)"""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # one copy is registered with filename None, the other with "": the same script
        filename = os.fspath(getattr(script, "filename", script) or "")
        attributes = getattr(script, "attributes", None) or {}
        key = (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


# Stylesheets that notebook outputs link from a CDN and the book does not need: Matplotlib's
# JavaScript animation player (Animation.to_jshtml, used by course_lib.viz.plotting.animation_html)
# links Font Awesome 4 for its button icons; the book theme already ships Font Awesome, whose
# script draws those same ``fa fa-*`` icons, so the link is dropped from the HTML pages (the
# notebooks keep it for Jupyter and Colab).
CDN_OUTPUT_LINKS = re.compile(
    r'<link\b[^>]*\bhref="https://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*"[^>]*>\s*')


def _strip_cdn_links(app, doctree, docname) -> None:
    from docutils import nodes

    for node in list(doctree.findall(nodes.raw)):
        if "html" in node.get("format", "").split():
            text = node.astext()
            stripped = CDN_OUTPUT_LINKS.sub("", text)
            if stripped != text:
                node.replace_self(nodes.raw(stripped, stripped, format=node["format"]))


def setup(app):
    """Sphinx extension: install the assets, refuse a configuration that uses a CDN, drop
    CDN stylesheets from notebook outputs, and keep each page's scripts free of duplicates."""
    app.connect("config-inited", _check_config)
    app.connect("doctree-resolved", _strip_cdn_links)
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    _collapsed_cells_in_single_page(app)
    app.connect("build-finished", _lighter_figures)
    app.add_css_file("course/book.css")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


LIGHT_FIGURE_BYTES = 50_000   # figures above this size are re-encoded with 256 colours


def _lighter_figures(app, exception):
    """Re-encode the book's large PNG figures with a 256-colour palette (no dithering): plots
    have few distinct colours, so they stay visually identical at a quarter of the bytes, which
    keeps every page light on a phone or a slow link. A figure is replaced only when that saves
    at least a fifth; the notebooks themselves are not touched."""
    if exception is not None or getattr(app.builder, "format", "") != "html":
        return
    import io

    from PIL import Image

    for path in sorted(Path(app.outdir, "_images").glob("*.png")):
        size = path.stat().st_size
        with Image.open(path) as image:
            image.load()
            if image.mode not in ("RGB", "RGBA", "LA", "P"):
                continue
            rgba = image.convert("RGBA")
        opaque = rgba.getextrema()[3][0] == 255
        if opaque and size < LIGHT_FIGURE_BYTES:
            continue
        # a transparent figure is unreadable on the dark theme: put it on white
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat = Image.alpha_composite(white, rgba).convert("RGB")
        palette = flat.quantize(colors=256, method=Image.Quantize.FASTOCTREE,
                                dither=Image.Dither.NONE)
        buffer = io.BytesIO()
        palette.save(buffer, format="PNG", optimize=True)
        if not opaque:
            if buffer.tell() > size:
                buffer = io.BytesIO()
                flat.save(buffer, format="PNG", optimize=True)
            path.write_bytes(buffer.getvalue())
        elif buffer.tell() < 0.8 * size:
            path.write_bytes(buffer.getvalue())


def _collapsed_cells_in_single_page(app):
    """Sphinx gives the ``singlehtml`` builder (the PDF is printed from it) the ``html``
    builder's node visitors only when no extension registers any for ``singlehtml``; one does,
    so the visitors of myst-nb (collapsed cells), sphinx-proof and others are missing there.
    Copy every ``html`` visitor that ``singlehtml`` lacks when the builder starts."""

    def copy_visitors(app_):
        if app_.builder.name != "singlehtml":
            return
        handlers = app_.registry.translation_handlers
        single = handlers.setdefault("singlehtml", {})
        for node, visitors in handlers.get("html", {}).items():
            single.setdefault(node, visitors)

    app.connect("builder-inited", copy_visitors)
