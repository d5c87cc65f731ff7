"""A figure with sliders that needs no kernel: precomputed frames behind HTML sliders.

An ipywidgets figure needs a running kernel; in the published HTML book it shows only the
state it was saved in. :func:`precomputed_slider` draws every frame in advance while the
notebook executes and returns one self-contained ``IPython.display.HTML`` snippet:
``<input type="range">`` sliders, the frames as base64 images, and a few lines of inline
JavaScript that show the frame of the sliders' values. Nothing is loaded from the network, so
the figure works in the offline HTML book, in Jupyter, on Binder and on Colab. It is the one
component behind every kernel-free figure of the book: the momentum explorer and the optimizer
race (:mod:`course_lib.viz.explorer`) and the animations
(:func:`course_lib.viz.plotting.animation_html`, through :func:`frames_player`).

Page weight: frames drawn here (figures or pixel arrays) are stored as *layers*. Frames of one
figure share most of their pixels (axes, contours, labels), so a few frames are kept whole, as
"key" images (JPEG), and every other frame as a transparent PNG of only the pixels in which it
differs from its key, shown on top of it. The layers are quantized to 128 colours (lines,
markers, text and their antialiased edges: on average a few levels of 255 off, invisible) and
stored as lossless WebP, the keys as WebP (``fmt="webp"``, the default), JPEG or PNG; the whole
is about six times smaller than storing every frame as a JPEG.

* :func:`precomputed_slider` -- the component: ``{slider values: figure or image bytes}``;
* :func:`frames_player` -- a sequence of frames with a play button;
* :class:`FrameGrabber` -- many frames of one figure, redrawing only what changes;
* :func:`figure_bytes`, :func:`figure_pixels` -- render a figure.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from IPython.display import HTML
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

__all__ = ["precomputed_slider", "frames_player", "figure_bytes", "figure_pixels",
           "FrameGrabber", "FORMATS"]

CSS_CLASS = "course-static-slider"
# a 1 x 1 transparent PNG: the top layer's source while a frame has no layer
TRANSPARENT_PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAD"
                     "UlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
_calls = itertools.count()      # makes element ids unique per call within a kernel


JPEG_QUALITY = 80   # with optimize=True: about 24 kB for a 648 x 273 frame, no visible artefacts
WEBP_QUALITY = 80   # about 13 kB for the same frame


def figure_bytes(fig: Figure, *, fmt: str = "jpeg", dpi: float | None = None, close: bool = True,
                 quality: int = JPEG_QUALITY) -> bytes:
    """Render a Matplotlib figure to PNG or JPEG bytes (and close it unless ``close=False``)."""
    if fmt not in ("png", "jpeg"):
        raise ValueError(f"fmt must be 'png' or 'jpeg', got {fmt!r}")
    buffer = io.BytesIO()
    kwargs: dict[str, Any] = (
        {"pil_kwargs": {"quality": quality, "optimize": True}} if fmt == "jpeg" else {})
    fig.savefig(buffer, format=fmt, dpi=dpi or fig.dpi, facecolor="white", **kwargs)
    if close:
        plt.close(fig)
    return buffer.getvalue()


def figure_pixels(fig: Figure, *, dpi: float | None = None, close: bool = True) -> np.ndarray:
    """Render a Matplotlib figure on a white background to an ``(H, W, 3)`` uint8 array."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if dpi is not None:
        fig.set_dpi(dpi)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    face = fig.get_facecolor()
    fig.set_facecolor("white")
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    fig.set_facecolor(face)
    if close:
        plt.close(fig)
    return rgb


KEY_RATIO = 0.5   # a frame becomes a new key when its layer would be larger than this x key


FORMATS = ("webp", "jpeg", "png")


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"Invalid fmt: {fmt!r} (expected one of {', '.join(FORMATS)})")


def _encode_key(rgb: np.ndarray, fmt: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.fromarray(rgb, "RGB")
    if fmt == "jpeg":
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    elif fmt == "webp":
        image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=6)
    else:
        image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _encode_layer(rgb: np.ndarray, key: np.ndarray, fmt: str = "webp") -> bytes | None:
    """A transparent image holding the pixels of ``rgb`` that differ from ``key`` (None when
    none do), quantized to at most 128 colours (lines, markers and text, antialiased), as
    lossless WebP (a PNG when ``fmt="png"``)."""
    from PIL import Image

    changed = np.any(rgb != key, axis=-1)
    if not changed.any():
        return None
    rgba = np.zeros(rgb.shape[:2] + (4,), np.uint8)
    rgba[changed, :3] = rgb[changed]
    rgba[changed, 3] = 255
    image = Image.fromarray(rgba, "RGBA").quantize(colors=128, method=Image.Quantize.FASTOCTREE)
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, format="PNG", optimize=True)
    else:
        image.convert("RGBA").save(buffer, format="WEBP", lossless=True, method=6)
    return buffer.getvalue()


def _data_uri(data: bytes) -> str:
    return f"data:{_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"


def _layers(frames: list, fmt: str, dpi: float | None) -> tuple[list[str], list[list], str]:
    """Encode ``frames`` (figures, ``(H, W, 3)`` uint8 arrays or PNG/JPEG bytes) as key images
    and layers. Returns ``(keys, layers, digest)``: ``keys`` the data URIs of the whole images;
    ``layers[i] = [key index, data URI of the transparent layer or None]`` for frame ``i``."""
    keys: list[str] = []
    layers: list[list] = []
    key_rgb = None
    digest = hashlib.sha1()
    for frame in frames:
        if isinstance(frame, (bytes, bytearray)):
            data = bytes(frame)
            _mime(data)
            uri = _data_uri(data)
            if uri not in keys:
                keys.append(uri)
                digest.update(data)
            layers.append([keys.index(uri), None])
            key_rgb = None
            continue
        rgb = frame if isinstance(frame, np.ndarray) else figure_pixels(frame, dpi=dpi)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3:
            raise ValueError("a frame array must be (H, W, 3) uint8 pixels")
        layer: bytes | str | None = None
        if key_rgb is not None and key_rgb.shape == rgb.shape:
            layer = _encode_layer(rgb, key_rgb, fmt)
            if layer is not None and len(layer) > KEY_RATIO * len(keys[-1]) * 3 / 4:
                layer = "new key"
        else:
            layer = "new key"
        if layer == "new key":
            data = _encode_key(rgb, fmt)
            keys.append(_data_uri(data))
            key_rgb = rgb
            layers.append([len(keys) - 1, None])
            digest.update(data)
        else:
            assert not isinstance(layer, str)       # "new key" is handled above
            layers.append([len(keys) - 1, None if layer is None else _data_uri(layer)])
            if layer is not None:
                digest.update(layer)
    return keys, layers, digest.hexdigest()


def _mime(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ValueError("a frame must be a Matplotlib figure, pixels or PNG/JPEG/WebP bytes")


def _label(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "on" if value else "off"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{value:g}"
    return str(value)


def _normalise_sliders(frames: Mapping, sliders) -> list[tuple[str, list]]:
    keys = [k if isinstance(k, tuple) else (k,) for k in frames]
    if sliders is None:
        n = len(keys[0])
        sliders = [(f"parameter {i + 1}" if n > 1 else "value",
                    sorted({k[i] for k in keys}, key=lambda v: (str(type(v)), v)))
                   for i in range(n)]
    elif isinstance(sliders, Mapping):
        sliders = list(sliders.items())
    sliders = [(str(name), list(values)) for name, values in sliders]
    for name, values in sliders:
        if not values:
            raise ValueError(f"slider {name!r} has no values")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"slider {name!r} repeats a value: {values}")
    return sliders


def precomputed_slider(frames: Mapping, sliders: Sequence | Mapping | None = None, *,
                       initial: Any = None, title: str | None = None, alt: str = "",
                       fmt: str = "webp", dpi: float | None = None, width: str | None = None,
                       play_interval: int | None = None) -> HTML:
    """A figure with sliders that switches between precomputed frames, without a kernel.

    Parameters
    ----------
    frames : ``{key: frame}``; ``key`` is a tuple with one value per slider (a bare value
        when there is one slider); ``frame`` is a Matplotlib figure (rendered with ``fmt``
        and ``dpi``, then closed) or PNG/JPEG bytes. Every combination of slider values needs
        a frame.
    sliders : ``[(label, values), ...]`` or ``{label: values}``, in the order of the key's
        components; ``values`` in slider order. Default: the sorted distinct key components.
    initial : the key shown first (default: the first value of each slider).
    title : optional text above the sliders. ``alt`` : the image's alternative text.
    width : CSS width of the image (default: its natural size, shrunk to fit).
    play_interval : milliseconds; when given, a play button steps the last slider.

    Returns an ``IPython.display.HTML``. Identical frames are stored once. Element ids are
    unique per call (``course-static-slider-<hash>-<n>``) and the snippet loads nothing
    from the network, so it works in the offline HTML book and in any notebook front end.
    """
    from IPython.display import HTML

    _check_format(fmt)
    if not frames:
        raise ValueError("no frames")
    sliders = _normalise_sliders(frames, sliders)
    if not alt.strip():
        alt = title or ("A figure drawn in advance for every value of the sliders: "
                        + ", ".join(name for name, _ in sliders))
    normalised = {(k if isinstance(k, tuple) else (k,)): v for k, v in frames.items()}
    grid = list(itertools.product(*[values for _, values in sliders]))
    missing = [key for key in grid if key not in normalised]
    extra = [key for key in normalised if key not in set(grid)]
    if missing or extra:
        raise ValueError(f"frames must cover the slider grid exactly: missing {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''}, not on a slider {extra[:5]}")
    if initial is None:
        initial = grid[0]
    initial = initial if isinstance(initial, tuple) else (initial,)
    if initial not in normalised:
        raise ValueError(f"initial={initial} is not a key of frames")

    keys, layers, digest = _layers([normalised[key] for key in grid], fmt, dpi)
    index: list[int] = []
    seen: dict[tuple, int] = {}
    stored: list[list] = []
    for layer in layers:
        marker = (layer[0], layer[1])
        if marker not in seen:
            seen[marker] = len(stored)
            stored.append(layer)
        index.append(seen[marker])

    uid = f"{CSS_CLASS}-{digest[:10]}-{next(_calls)}"
    shape = [len(values) for _, values in sliders]
    labels = [[_label(v) for v in values] for _, values in sliders]
    start = [values.index(v) for (_, values), v in zip(sliders, initial)]
    first_key, first_layer = stored[index[int(np.ravel_multi_index(start, shape))]]
    payload = json.dumps({"shape": shape, "labels": labels, "index": index, "keys": keys,
                          "layers": stored},
                         separators=(",", ":")).replace("</", "<\\/")

    controls = []
    for i, ((name, values), s) in enumerate(zip(sliders, start)):
        controls.append(
            f'<label style="display:inline-flex;align-items:center;gap:0.5em">'
            f'<span>{html.escape(name)}</span>'
            f'<input type="range" id="{uid}-s{i}" min="0" max="{len(values) - 1}" step="1" '
            f'value="{s}" aria-valuetext="{html.escape(labels[i][s])}" '
            f'data-slider="{i}" style="width:{max(8, min(16, 2 * len(values)))}em">'
            f'<output id="{uid}-v{i}" style="min-width:4em;font-variant-numeric:tabular-nums">'
            f'{html.escape(labels[i][s])}</output></label>')
    if play_interval is not None:
        controls.insert(0, f'<button type="button" id="{uid}-play" aria-label="play" '
                           f'style="min-width:5em">&#9654; play</button>')
    heading = (f'<div style="font-weight:600;margin-bottom:0.3em">{html.escape(title)}</div>'
               if title else "")
    style = f"width:{width};" if width else ""
    script = (
        "(function(){var id=" + json.dumps(uid) + ",root=document.getElementById(id);"
        "if(!root||root.getAttribute('data-ready'))return;root.setAttribute('data-ready','1');"
        "var d=JSON.parse(document.getElementById(id+'-data').textContent),"
        "img=document.getElementById(id+'-img'),top=document.getElementById(id+'-top'),"
        "inputs=[],outs=[];"
        "for(var i=0;i<d.shape.length;i++){inputs.push(document.getElementById(id+'-s'+i));"
        "outs.push(document.getElementById(id+'-v'+i));}"
        "function show(){var k=0;for(var i=0;i<inputs.length;i++){"
        "var v=Math.max(0,Math.min(d.shape[i]-1,parseInt(inputs[i].value,10)||0));"
        "k=k*d.shape[i]+v;outs[i].textContent=d.labels[i][v];"
        "inputs[i].setAttribute('aria-valuetext',d.labels[i][v]);}"
        "var l=d.layers[d.index[k]],src=d.keys[l[0]];if(img.getAttribute('src')!==src)img.src=src;"
        "if(l[1]){top.src=l[1];top.style.visibility='visible';}"
        "else{top.style.visibility='hidden';}"
        "root.setAttribute('data-frame',String(k));}"
        "inputs.forEach(function(el){el.addEventListener('input',show);"
        "el.addEventListener('change',show);});"
        "var play=document.getElementById(id+'-play'),timer=null;"
        "if(play){var last=inputs[inputs.length-1];play.addEventListener('click',function(){"
        "if(timer){clearInterval(timer);timer=null;play.innerHTML='&#9654; play';return;}"
        "play.innerHTML='&#10073;&#10073; pause';timer=setInterval(function(){"
        "var n=parseInt(last.value,10)+1;if(n<=parseInt(last.max,10)){last.value=String(n);"
        "show();}if(n>=parseInt(last.max,10)){clearInterval(timer);timer=null;"
        "play.innerHTML='&#9654; play';}},"
        + str(play_interval or 0) + ");});}show();})();")
    top_src = first_layer or TRANSPARENT_PIXEL
    snippet = (
        f'<div class="{CSS_CLASS} tex2jax_ignore mathjax_ignore" id="{uid}" '
        f'data-frames="{len(grid)}" data-frame="{int(np.ravel_multi_index(start, shape))}" '
        f'style="margin:0.5em 0">{heading}'
        f'<div style="display:flex;flex-wrap:wrap;gap:0.3em 1.5em;font-size:0.9em;'
        f'margin-bottom:0.3em">{"".join(controls)}</div>'
        f'<div style="position:relative;display:inline-block;max-width:100%;{style}">'
        f'<img id="{uid}-img" src="{keys[first_key]}" alt="{html.escape(alt)}" '
        f'style="display:block;max-width:100%;height:auto;width:100%">'
        f'<img id="{uid}-top" src="{top_src}" alt="" aria-hidden="true" '
        f'style="position:absolute;left:0;top:0;width:100%;height:100%;'
        f'visibility:{"visible" if first_layer else "hidden"}"></div>'
        f'<script type="application/json" id="{uid}-data">{payload}</script>'
        f'<script>{script}</script></div>')
    return HTML(snippet)


def frames_player(frames: Sequence, *, interval: int = 100, title: str | None = None,
                  alt: str = "", fmt: str = "webp", dpi: float | None = None,
                  label: str = "frame") -> HTML:
    """An animation for the HTML book: ``frames`` (figures, pixel arrays or image bytes) behind
    a slider and a play button that steps through them every ``interval`` milliseconds."""
    frames = list(frames)
    if not frames:
        raise ValueError("no frames")
    steps = list(range(len(frames)))
    return precomputed_slider(dict(zip(steps, frames)), [(label, steps)], title=title, alt=alt,
                              fmt=fmt, dpi=dpi, play_interval=interval)


class FrameGrabber:
    """Many frames of one figure whose costly part does not change: the figure is drawn once
    without the changing artists, and each frame restores that background, draws only the
    given artists on it and encodes the pixels (the blitting technique of Matplotlib's
    animations). About ten times faster than a full ``savefig`` per frame."""

    def __init__(self, fig):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = fig
        canvas = fig.canvas
        self.canvas = canvas if isinstance(canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)

    def grab(self, artists: Iterable[Artist]) -> np.ndarray:
        """The frame with ``artists`` drawn on the background, as ``(H, W, 3)`` uint8 pixels."""
        self.canvas.restore_region(self.background)
        for artist in artists:
            (artist.axes or self.fig).draw_artist(artist)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()
