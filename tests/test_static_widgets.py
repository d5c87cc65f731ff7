"""course_lib.viz.slider and course_lib.viz.explorer: kernel-free sliders over precomputed
frames, and the one explorer figure behind the kernel form, the kernel-free form and the
optimizer comparison (the 0.1 modules widgets/static_widgets re-export the same objects).

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

from course_lib import objectives, optim  # noqa: E402
from course_lib.second_order import minimize  # noqa: E402
from course_lib.viz import explorer, slider, static_widgets, widgets  # noqa: E402
from course_lib.viz.explorer import (  # noqa: E402
    ExplorerFigure,
    gap_limits,
    momentum_explorer_static,
    optimizer_comparison_static,
    sgd_path,
)
from course_lib.viz.slider import FrameGrabber, figure_bytes, precomputed_slider  # noqa: E402


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
    assert header in ("data:image/png;base64", "data:image/jpeg;base64",
                      "data:image/webp;base64")
    return Image.open(io.BytesIO(base64.b64decode(payload)))


def composite(data, position):
    """The pixels shown at slider position ``position``: the key image with its layer on top."""
    key, layer = data["layers"][data["index"][position]]
    base = np.asarray(decode(data["keys"][key]).convert("RGB")).astype(int)
    if layer is None:
        return base
    top = np.asarray(decode(layer).convert("RGBA")).astype(int)
    return np.where(top[..., 3:] > 0, top[..., :3], base)


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
    assert len(data["index"]) == 6 and len(data["keys"]) == 6
    # row-major over the sliders: index k = i_lr * 2 + i_mu shows frames[(lrs[i_lr], mus[i_mu])]
    for k, (lr, mu) in enumerate([(lr, mu) for lr in sliders[0][1] for mu in sliders[1][1]]):
        key, layer = data["layers"][data["index"][k]]
        assert layer is None          # image bytes are stored whole, as they were given
        assert base64.b64decode(data["keys"][key].split(",", 1)[1]) == frames[(lr, mu)]
    img, top = doc.find("img")
    assert img["src"] == data["keys"][data["layers"][data["index"][0]][0]]
    assert top["alt"] == "" and top["aria-hidden"] == "true"
    assert len(doc.scripts) == 2


def test_ids_unique_within_and_across_calls(grid_frames):
    frames, sliders = grid_frames
    ids = []
    for _ in range(3):
        doc = Parsed(precomputed_slider(frames, sliders).data)
        ids += [attrs["id"] for _, attrs in doc.elements if "id" in attrs]
    assert len(ids) == 3 * (1 + 2 * 2 + 2 + 1)  # root, 2 x (input, output), 2 img, json
    assert len(set(ids)) == len(ids)
    for_attrs = re.findall(r"document\.getElementById\(id\+'-(\w+)'", precomputed_slider(
        frames, sliders).data)
    assert set(for_attrs) == {"data", "img", "top", "s", "v", "play"}


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
    assert len(data["keys"]) == 2 and data["index"] == [0, 0, 0, 0, 0, 1]
    assert [r["value"] for r in doc.find("input", type="range")] == ["2", "1"]
    assert doc.find("img")[0]["src"] == data["keys"][1]


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
    images = [composite(data, k) for k in range(2)]
    assert [im.shape for im in images] == [(50, 100, 3), (50, 100, 3)]
    assert data["labels"] == [["red", "blue"]]
    # each frame shows its own axes colour (the frames differ almost everywhere, so the
    # second is stored whole: a layer would be larger than a key image)
    assert tuple(images[0][25, 50]) == (255, 0, 0) and tuple(images[1][25, 50]) == (0, 0, 255)


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


def test_old_module_names_are_the_same_objects():
    for name in ("momentum_explorer", "lr_momentum_grid", "ExplorerFigure"):
        assert getattr(widgets, name) is getattr(explorer, name)
    for name in ("momentum_explorer_static", "optimizer_comparison_static"):
        assert getattr(static_widgets, name) is getattr(explorer, name)
    for name in ("precomputed_slider", "frames_player", "figure_bytes", "figure_pixels"):
        assert getattr(static_widgets, name) is getattr(slider, name)


def test_momentum_explorer_static_draws_every_pair_with_the_shared_figure(monkeypatch):
    drawn = []
    original = ExplorerFigure.draw

    def spy(self, path, *, lr, momentum):
        drawn.append((lr, momentum, len(path)))
        return original(self, path, lr=lr, momentum=momentum)

    monkeypatch.setattr(ExplorerFigure, "draw", spy)
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
    assert len(data["layers"]) == 6, "different hyperparameters draw different frames"
    assert [r.get("max") for r in doc.find("input", type="range")] == ["2", "1"]
    sizes = {composite(data, k).shape for k in range(6)}
    assert sizes in ({(273, 648, 3)}, {(274, 648, 3)})  # 9 x 3.8 inches at 72 dpi
    assert "http://" not in html and "https://" not in html


def test_explorer_frame_matches_the_trajectory():
    # the frame of a diverging run says so in its title: the trajectory is the one course_lib runs
    q = objectives.Quadratic.from_spectrum([1.0, 10.0])
    fig = ExplorerFigure(q, pyplot=False)
    path = sgd_path(q, None, 20, 0.25, 0.0, False)   # lr > 2/L = 0.2 diverges
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


def test_optimizer_comparison_static_two_surfaces(monkeypatch):
    drawn = []
    original = ExplorerFigure.draw_runs

    def spy(self, paths, *, upto=None, title=""):
        drawn.append((title, upto, tuple(paths)))
        return original(self, paths, upto=upto, title=title)

    monkeypatch.setattr(ExplorerFigure, "draw_runs", spy)
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
    # every frame was drawn by the explorer's figure, up to its step
    assert [(t, k) for t, k, _ in drawn] == [(f"{name}: step k = {k}", k)
                                            for name in surfaces for k in (0, 10, 20, 30, 40)]
    assert all(labels == ("SGD", "heavy ball") for *_, labels in drawn)


def test_explorer_figure_draws_minimize_results_up_to_a_step():
    """draw_runs takes any run with iterates and values: here OptimizeResults of minimize."""
    q = objectives.Quadratic.from_spectrum([1.0, 10.0])
    runs = {m: minimize(q.value, q.x0, q.grad, method=m) for m in ("gd", "bfgs")}
    fig = ExplorerFigure(q, pyplot=False, steps=5, gap_limits=(1e-12, 1e3))
    fig.draw_runs(runs, upto=2, title="k = 2")
    lines = fig.artists[:-1]
    gd_path, _, bfgs_path, _, gd_gap, bfgs_gap, legend = lines
    np.testing.assert_array_equal(gd_path.get_xydata(), runs["gd"].path[:3])
    np.testing.assert_array_equal(bfgs_path.get_xydata(), runs["bfgs"].path[:3])
    np.testing.assert_allclose(gd_gap.get_ydata(), runs["gd"].fun_path[:3] - q.minimum,
                               rtol=1e-12, atol=1e-300)
    assert [t.get_text() for t in legend.get_texts()] == ["gd", "bfgs"]
    assert fig.title.get_text() == "k = 2"
    fig.draw_runs(runs, title="all")                  # the previous frame's artists are gone
    assert len(fig.ax_path.lines) == 4 + len(q.minimizers)


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
    assert len(data["layers"]) == 6


def test_gap_axes_are_fixed_and_ignore_divergence():
    start = 10.0
    converging = start * 0.5 ** np.arange(60)            # reaches 1.7e-17
    diverging = np.concatenate([start * 3.0 ** np.arange(40), [np.inf, np.nan]])
    low, high = gap_limits([converging, diverging])
    assert high == pytest.approx(3 * 1e3 * start)         # a diverging run leaves at the top
    assert low == pytest.approx(1e-12 * start / 3)        # 1e-12 below the start at most
    low, high = gap_limits([converging[:5]])
    assert low == pytest.approx(converging[4] / 3) and high == pytest.approx(3 * start)


def moving_dot_frames(n=12, fmt_size=(4, 3)):
    """Frames of one figure in which only a dot moves, as pixel arrays (what the book's
    explorers and animations produce), and the same frames as whole JPEGs."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=fmt_size, dpi=72)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    xs = np.linspace(-2, 2, 200)
    ax.contourf(xs, xs, np.add.outer(xs**2, 3 * xs**2), levels=20, cmap="viridis")
    grabber = FrameGrabber(fig)
    frames, whole = [], []
    for k in range(n):
        (dot,) = ax.plot([np.cos(k / 2)], [np.sin(k / 2)], "o", color="tab:red")
        frames.append(grabber.grab([dot]))
        whole.append(len(figure_bytes(fig, close=False)))
        dot.remove()
    return frames, whole


def test_layers_reproduce_every_frame_and_weigh_less_than_whole_frames():
    frames, whole = moving_dot_frames()
    html = precomputed_slider(dict(enumerate(frames)), [("k", list(range(len(frames))))],
                              fmt="png").data
    data = Parsed(html).data()
    assert len(data["keys"]) == 1 and all(layer[1] for layer in data["layers"][1:])
    for k, frame in enumerate(frames):
        shown = composite(data, k)
        changed = np.any(frame != frames[0], axis=-1)
        error = np.abs(shown - frame).max(axis=-1)
        assert error[~changed].max() == 0          # the key is stored losslessly (PNG) here
        if changed.any():
            assert error[changed].mean() < 8       # 256-colour layers: a few levels of 255
    layered = sum(len(u) for u in data["keys"]) + sum(len(l[1] or "") for l in data["layers"])
    assert layered < 0.5 * 4 / 3 * sum(whole), (layered, sum(whole))


def test_webp_layers_and_keys_by_default_and_bad_format():
    frames, _ = moving_dot_frames(n=3)
    data = Parsed(precomputed_slider(dict(enumerate(frames)), [("k", [0, 1, 2])]).data).data()
    assert data["keys"][0].startswith("data:image/webp;base64,")
    assert data["layers"][1][1].startswith("data:image/webp;base64,")
    assert np.abs(composite(data, 2) - frames[2]).mean() < 2     # lossy key, lossless layer
    with pytest.raises(ValueError, match=r"Invalid fmt: 'gif' \(expected one of webp, jpeg, png\)"):
        precomputed_slider(dict(enumerate(frames)), [("k", [0, 1, 2])], fmt="gif")


def test_frames_player_has_a_play_button_over_one_slider():
    frames, _ = moving_dot_frames(n=5)
    doc = Parsed(slider.frames_player(frames, interval=150, alt="a dot circling").data)
    (button,) = doc.find("button")
    assert button["aria-label"] == "play"
    (track,) = doc.find("input", type="range")
    assert track["max"] == "4"
    assert doc.find("img")[0]["alt"] == "a dot circling"
    assert ",150);" in doc.scripts[-1][1]
    with pytest.raises(ValueError, match="no frames"):
        slider.frames_player([])


def test_animation_html_stores_layers_of_the_animation_frames():
    from course_lib.viz import plotting

    q = objectives.Quadratic.from_spectrum([1.0, 10.0])
    paths = {"SGD": course_run(q, 0.05), "heavy ball": course_run(q, 0.05, momentum=0.8)}
    anim = plotting.animate_trajectories(q, paths, frames=8)
    doc = Parsed(plotting.animation_html(anim, alt="two trajectories").data)
    data = doc.data()
    assert data["shape"] == [8]
    assert len(data["keys"]) <= 2 and sum(1 for l in data["layers"] if l[1]) >= 6
    assert doc.find("img")[0]["alt"] == "two trajectories"


def course_run(objective, lr, **hyper):
    from course_lib.optim.descent import run

    return run(optim.sgd, objective, None, 40, lr=lr, **hyper)
