"""course_lib.static_widgets: kernel-free sliders over precomputed frames.

The HTML is parsed with the standard library's parser; what the JavaScript does in a real
browser is tested in tests/test_browser.py (test_precomputed_slider_in_chromium).
"""

import base64
import io
import json
import re
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from course_lib import objectives, optim, widgets  # noqa: E402
from course_lib.static_widgets import (  # noqa: E402
    figure_bytes, momentum_explorer_static, optimizer_comparison_static, precomputed_slider)


class Parsed(HTMLParser):
    """Elements (tag, attrs) in document order, and the text of each <script>."""

    def __init__(self, text):
        super().__init__()
        self.elements, self.scripts, self._in_script = [], [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def find(self, tag, **attrs):
        return [a for t, a in self.elements
                if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def data(self):
        (text,) = [t for a, t in self.scripts if a.get("type") == "application/json"]
        return json.loads(text)


def png(color, size=(8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def decode(uri):
    header, payload = uri.split(",", 1)
    assert header in ("data:image/png;base64", "data:image/jpeg;base64")
    return Image.open(io.BytesIO(base64.b64decode(payload)))


@pytest.fixture
def grid_frames():
    lrs, mus = [0.1, 0.2, 0.3], [0.0, 0.9]
    colors = iter([(10 * i, 20 * j, 50) for i in range(3) for j in range(2)])
    frames = {(lr, mu): png(next(colors)) for lr in lrs for mu in mus}
    return frames, [("learning rate", lrs), ("momentum", mus)]


def test_structure_frame_count_order_and_labels(grid_frames):
    frames, sliders = grid_frames
    html = precomputed_slider(frames, sliders).data
    doc = Parsed(html)
    (root,) = doc.find("div", **{"data-frames": "6"})
    assert "course-static-slider" in root["class"]
    ranges = doc.find("input", type="range")
    assert [(r["min"], r["max"], r["value"]) for r in ranges] == [("0", "2", "0"), ("0", "1", "0")]
    data = doc.data()
    assert data["shape"] == [3, 2]
    assert data["labels"] == [["0.1", "0.2", "0.3"], ["0", "0.9"]]
    assert len(data["index"]) == 6 and len(data["frames"]) == 6
    # row-major over the sliders: index k = i_lr * 2 + i_mu shows frames[(lrs[i_lr], mus[i_mu])]
    for k, (lr, mu) in enumerate([(lr, mu) for lr in sliders[0][1] for mu in sliders[1][1]]):
        uri = data["frames"][data["index"][k]]
        assert base64.b64decode(uri.split(",", 1)[1]) == frames[(lr, mu)]
    (img,) = doc.find("img")
    assert img["src"] == data["frames"][data["index"][0]]
    assert len(doc.scripts) == 2


def test_ids_unique_within_and_across_calls(grid_frames):
    frames, sliders = grid_frames
    ids = []
    for _ in range(3):
        doc = Parsed(precomputed_slider(frames, sliders).data)
        ids += [attrs["id"] for _, attrs in doc.elements if "id" in attrs]
    assert len(ids) == 3 * (1 + 2 * 2 + 1 + 1)  # root, 2 x (input, output), img, json
    assert len(set(ids)) == len(ids)
    for_attrs = re.findall(r"document\.getElementById\(id\+'-(\w+)'", precomputed_slider(
        frames, sliders).data)
    assert set(for_attrs) == {"data", "img", "s", "v"}


def test_no_network_references(grid_frames):
    frames, sliders = grid_frames
    html = precomputed_slider(frames, sliders, title="A <title> & more").data
    assert "http://" not in html and "https://" not in html
    assert "<title>" not in html and "A &lt;title&gt; &amp; more" in html
    # the JSON payload cannot close its <script> early
    assert Parsed(html).data()["labels"][0] == ["0.1", "0.2", "0.3"]


def test_identical_frames_are_stored_once_and_initial_frame(grid_frames):
    frames, sliders = grid_frames
    same = png((1, 2, 3))
    frames = {key: same for key in frames}
    frames[(0.3, 0.9)] = png((200, 0, 0))
    doc = Parsed(precomputed_slider(frames, sliders, initial=(0.3, 0.9)).data)
    data = doc.data()
    assert len(data["frames"]) == 2 and data["index"] == [0, 0, 0, 0, 0, 1]
    assert [r["value"] for r in doc.find("input", type="range")] == ["2", "1"]
    assert doc.find("img")[0]["src"] == data["frames"][1]


def test_one_slider_with_bare_keys_and_inferred_values():
    frames = {k: png((k, k, k)) for k in (3, 1, 2)}
    data = Parsed(precomputed_slider(frames).data).data()
    assert data["shape"] == [3] and data["labels"] == [["1", "2", "3"]]


def test_figures_are_rendered_and_closed():
    figs = {}
    for c in ("red", "blue"):
        fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
        ax.set_facecolor(c)
        figs[c] = fig
    before = set(plt.get_fignums())
    html = precomputed_slider(figs, [("color", ["red", "blue"])], fmt="png").data
    assert not before & set(plt.get_fignums()), "the figures must be closed"
    data = Parsed(html).data()
    images = [decode(u) for u in data["frames"]]
    assert [im.size for im in images] == [(100, 50), (100, 50)]
    assert data["labels"] == [["red", "blue"]]


@pytest.mark.parametrize("bad, message", [
    ({(0.1, 0.0): b"x"}, "must cover the slider grid exactly"),
    ({**{(lr, mu): b"" for lr in (0.1, 0.2, 0.3) for mu in (0.0, 0.9)}, (0.5, 0.0): b""},
     "not on a slider"),
])
def test_frames_must_cover_the_grid(grid_frames, bad, message):
    _, sliders = grid_frames
    with pytest.raises(ValueError, match=message):
        precomputed_slider(bad, sliders)


def test_rejects_non_image_bytes_and_bad_initial(grid_frames):
    frames, sliders = grid_frames
    with pytest.raises(ValueError, match="PNG/JPEG"):
        precomputed_slider({**frames, (0.1, 0.0): b"GIF89a"}, sliders)
    with pytest.raises(ValueError, match="initial"):
        precomputed_slider(frames, sliders, initial=(0.7, 0.0))
    with pytest.raises(ValueError, match="repeats"):
        precomputed_slider(frames, [("learning rate", [0.1, 0.1, 0.3]), ("momentum", [0, 0.9])])


def test_figure_bytes_formats():
    fig, _ = plt.subplots(figsize=(1, 1), dpi=20)
    assert figure_bytes(fig, fmt="png", close=False)[:4] == b"\x89PNG"
    assert figure_bytes(fig, fmt="jpeg")[:3] == b"\xff\xd8\xff"
    assert fig.number not in plt.get_fignums()
    with pytest.raises(ValueError, match="fmt"):
        figure_bytes(fig, fmt="gif")


def test_momentum_explorer_static_draws_every_pair_with_the_shared_figure(monkeypatch):
    drawn = []
    original = widgets.ExplorerFigure.draw

    def spy(self, path, *, lr, momentum):
        drawn.append((lr, momentum, len(path)))
        return original(self, path, lr=lr, momentum=momentum)

    monkeypatch.setattr(widgets.ExplorerFigure, "draw", spy)
    q = objectives.Quadratic.from_spectrum([1.0, 10.0])
    lrs, mus = [0.02, 0.1, 0.19], [0.0, 0.8]
    before = set(plt.get_fignums())
    html = momentum_explorer_static(q, lrs, mus, steps=30).data
    assert set(plt.get_fignums()) == before
    assert sorted(d[:2] for d in drawn) == sorted((lr, mu) for lr in lrs for mu in mus)
    assert all(n == 31 for *_, n in drawn)
    doc = Parsed(html)
    data = doc.data()
    assert data["shape"] == [3, 2] and len(data["index"]) == 6
    assert len(data["frames"]) == 6, "different hyperparameters draw different frames"
    assert [r.get("max") for r in doc.find("input", type="range")] == ["2", "1"]
    sizes = {decode(u).size for u in data["frames"]}
    assert sizes in ({(648, 273)}, {(648, 274)})  # 9 x 3.8 inches at 72 dpi
    assert "http://" not in html and "https://" not in html


def test_explorer_frame_matches_the_trajectory():
    # the frame of a diverging run says so in its title: the trajectory is the one course_lib runs
    q = objectives.Quadratic.from_spectrum([1.0, 10.0])
    fig = widgets.ExplorerFigure(q, pyplot=False)
    path = widgets._path(q, None, 20, 0.25, 0.0, False)   # lr > 2/L = 0.2 diverges
    fig.draw(path, lr=0.25, momentum=0.0)
    assert fig.title.get_text().startswith("η=0.25, μ=0.00")
    assert np.allclose(fig.artists[0].get_xydata(), path.xs)
    assert np.abs(path.xs[-1]).max() > np.abs(path.xs[0]).max()


def test_momentum_explorer_widget_still_works():
    ipywidgets = pytest.importorskip("ipywidgets")
    box = widgets.momentum_explorer(objectives.Quadratic.from_spectrum([1.0, 4.0]), steps=10)
    assert isinstance(box, ipywidgets.VBox)
    lr_slider = box.children[0].children[0]
    lr_slider.value = 0.1          # triggers a redraw through the shared figure
    plt.close("all")


def test_optimizer_comparison_static_two_surfaces():
    surfaces = {"quadratic": objectives.Quadratic.from_spectrum([1.0, 10.0]),
                "rosenbrock": objectives.Rosenbrock()}
    opts = {"SGD": (optim.sgd, {"lr": 0.05}),
            "heavy ball": (optim.sgd, {"lr": 0.05, "momentum": 0.9})}
    html = optimizer_comparison_static(surfaces, opts, steps=40, frames=5,
                                       overrides={"rosenbrock": {"SGD": {"lr": 1e-3},
                                                                 "heavy ball": {"lr": 1e-3}}}).data
    doc = Parsed(html)
    data = doc.data()
    assert data["shape"] == [2, 5]
    assert data["labels"] == [["quadratic", "rosenbrock"], ["0", "10", "20", "30", "40"]]
    assert len(data["index"]) == 10 and len(set(data["index"])) == 10
    assert "http://" not in html and "https://" not in html


def test_optimizer_comparison_static_one_surface_has_only_the_step_slider():
    html = optimizer_comparison_static(objectives.Quadratic.from_spectrum([1.0, 2.0]),
                                       {"SGD": (optim.sgd, {"lr": 0.1})}, steps=10, frames=3).data
    doc = Parsed(html)
    assert len(doc.find("input", type="range")) == 1
    assert doc.data()["labels"] == [["0", "5", "10"]]


def test_momentum_explorer_static_nesterov_switch_is_a_third_slider():
    q = objectives.Quadratic.from_spectrum([1.0, 10.0])
    doc = Parsed(momentum_explorer_static(q, [0.1, 0.15], [0.0, 0.9], steps=15,
                                          nesterov=(False, True), initial=(0.15, 0.9, True)).data)
    data = doc.data()
    assert data["shape"] == [2, 2, 2]
    assert data["labels"][2] == ["off", "on"]
    assert [r["value"] for r in doc.find("input", type="range")] == ["1", "1", "1"]
    # with momentum 0 Nesterov changes nothing: those frames are stored once
    assert data["index"][0] == data["index"][1] and data["index"][4] == data["index"][5]
    assert len(data["frames"]) == 6


def test_gap_axes_are_fixed_and_ignore_divergence():
    from course_lib.static_widgets import _gap_limits

    start = 10.0
    converging = start * 0.5 ** np.arange(60)            # reaches 1.7e-17
    diverging = np.concatenate([start * 3.0 ** np.arange(40), [np.inf, np.nan]])
    low, high = _gap_limits([converging, diverging])
    assert high == pytest.approx(3 * 1e3 * start)         # a diverging run leaves at the top
    assert low == pytest.approx(1e-12 * start / 3)        # 1e-12 below the start at most
    low, high = _gap_limits([converging[:5]])
    assert low == pytest.approx(converging[4] / 3) and high == pytest.approx(3 * start)
