"""tools/offline_assets.py: the JavaScript the HTML book serves itself (no network needed here;
tests/test_browser.py checks the built pages in Chromium with the network blocked)."""

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


from tools import offline_assets as oa  # noqa: E402  (the repository root is on pytest's path)


def test_config_points_at_the_local_copies():
    sphinx = CONFIG["sphinx"]
    assert sphinx["local_extensions"] == {"offline_assets": "tools/"}
    config = sphinx["config"]
    assert config["mathjax_path"] == oa.MATHJAX_PATH and "://" not in config["mathjax_path"]
    assert tuple(config["nb_ipywidgets_js"]) == oa.IPYWIDGETS_JS
    assert (ROOT / config["html_static_path"][0]).resolve() == oa.ASSETS.resolve()
    assert all(name in oa.LOCAL_FILES or name.split("/")[0] in {p.dest for p in oa.PACKAGES}
               for name in oa.IPYWIDGETS_JS + (oa.MATHJAX_PATH,))


def test_packages_are_pinned_with_their_hashes():
    for package in oa.PACKAGES:
        name, _, version = package.spec.rpartition("@")
        assert name and version.count(".") == 2 and version.replace(".", "").isdigit(), package
        algorithm, _, digest = package.integrity.partition("-")
        assert algorithm == "sha512" and len(base64.b64decode(digest)) == 64


def test_kept_paths():
    keep = ("LICENSE", "es5/input/", "dist/*.woff2")
    assert oa._wanted("LICENSE", keep) and oa._wanted("es5/input/tex/extensions/ams.js", keep)
    assert oa._wanted("dist/abc.woff2", keep)
    assert not oa._wanted("dist/sub/abc.woff2", keep) and not oa._wanted("dist/a.woff", keep)
    assert not oa._wanted("es5/tex-svg.js", keep) and not oa._wanted("LICENSE.md", keep)


def _fake_npm(monkeypatch, tmp_path, files: dict):
    """``npm pack`` that hands out a tarball made here from ``files``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    tarball = buffer.getvalue()

    class Done:
        returncode, stderr = 0, ""
        stdout = json.dumps([{"filename": "pkg-1.0.0.tgz"}])

    def run(cmd, cwd, **kwargs):
        (Path(cwd) / "pkg-1.0.0.tgz").write_bytes(tarball)
        return Done()

    monkeypatch.setattr(oa, "_npm", lambda: "npm")
    monkeypatch.setattr(oa.subprocess, "run", run)
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()


def test_fetch_checks_the_hash_and_unpacks_only_what_is_kept(monkeypatch, tmp_path):
    files = {"a.js": b"a", "lib/b.js": b"b", "../evil": b"x", "c.map": b"c"}
    integrity = _fake_npm(monkeypatch, tmp_path, files)
    work = tmp_path / "work"
    work.mkdir()
    good = oa.Package("pkg@1.0.0", integrity, "pkg", ("a.js", "lib/"))
    oa._fetch(good, tmp_path / "out", work)
    unpacked = sorted(p.relative_to(tmp_path / "out").as_posix()
                      for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert unpacked == ["pkg/a.js", "pkg/lib/b.js"]
    assert not (tmp_path / "evil").exists()
    bad = oa.Package("pkg@1.0.0", "sha512-" + base64.b64encode(bytes(64)).decode(), "pkg",
                     ("a.js",))
    with pytest.raises(oa.AssetError, match="expected"):
        oa._fetch(bad, tmp_path / "out2", work)


def test_ensure_assets_installs_once_and_copies_local_files(monkeypatch, tmp_path):
    integrity = _fake_npm(monkeypatch, tmp_path, {"a.js": b"a"})
    monkeypatch.setattr(oa, "PACKAGES", (oa.Package("pkg@1.0.0", integrity, "pkg", ("a.js",)),))
    target = tmp_path / "_build" / "offline_assets"
    assert oa.ensure_assets(target, quiet=True) == target
    assert oa.assets_ready(target) and (target / "pkg" / "a.js").read_bytes() == b"a"
    for name, source in oa.LOCAL_FILES.items():
        assert (target / name).read_bytes() == source.read_bytes()
    monkeypatch.setattr(oa.subprocess, "run", lambda *a, **k: pytest.fail("fetched twice"))
    oa.ensure_assets(target, quiet=True)
    assert sorted(p.name for p in target.parent.iterdir()) == ["offline_assets"]


def test_missing_npm_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(oa.shutil, "which", lambda name: None)
    with pytest.raises(oa.AssetError, match="install Node.js and npm"):
        oa._npm()


def test_matplotlib_player_loses_its_cdn_stylesheet_in_the_book():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from docutils import nodes
    from matplotlib import animation

    fig, ax = plt.subplots(figsize=(1, 1), dpi=20)
    (line,) = ax.plot([0, 1], [0, 1])
    anim = animation.FuncAnimation(fig, lambda k: [line], frames=2)
    html = anim.to_jshtml()
    plt.close(fig)
    assert "https://maxcdn.bootstrapcdn.com/font-awesome" in html   # what Matplotlib writes
    doctree = nodes.section()
    doctree += nodes.raw(html, html, format="html")
    oa._strip_cdn_links(None, doctree, "page")
    (raw,) = list(doctree.findall(nodes.raw))
    assert "://" not in raw.astext().split("<script")[0]
    assert 'class="fa fa-play"' in raw.astext()          # icons drawn by the theme's FA


def test_duplicate_scripts_are_dropped():
    from sphinx.builders.html._assets import _JavaScript

    scripts = [_JavaScript(None, body="const A = 1"), _JavaScript("x.js"),
               _JavaScript("", body="const A = 1"), _JavaScript("x.js"),
               _JavaScript(None, body="const B = 1")]
    context = {"script_files": scripts}
    oa._dedupe_scripts(None, "page", "page.html", context, None)
    assert [(s.filename, s.attributes.get("body")) for s in context["script_files"]] == [
        (None, "const A = 1"), ("x.js", None), (None, "const B = 1")]


def test_find_chromium_honours_the_environment(monkeypatch):
    monkeypatch.setenv("CHROMIUM", "/opt/my/chrome")
    assert oa.find_chromium() == "/opt/my/chrome"


def test_installed_assets_have_what_the_pages_load():
    if not oa.assets_ready():
        pytest.skip("the offline assets are installed by the first book build")
    for name in (oa.MATHJAX_PATH,) + oa.IPYWIDGETS_JS:
        assert (oa.ASSETS / name).is_file(), name
    # MathJax loads TeX extensions and fonts on demand from beside its main file
    es5 = oa.ASSETS / "mathjax" / "es5"
    assert (es5 / "input" / "tex" / "extensions" / "boldsymbol.js").is_file()
    assert list((es5 / "output" / "chtml" / "fonts" / "woff-v2").glob("MathJax_Main-*.woff"))
