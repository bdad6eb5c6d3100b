"""One look for every briefing chart: fonts (Chinese included), palette, titles, notes.

Fonts
-----
Chinese must render, on any machine, without a system CJK font, and in mainland
(Simplified Chinese) forms: Noto Sans SC (SIL OFL 1.1) ships as a Python package, a
dependency of the project (``pylopdf-fonts-zh-cn``; :mod:`analysis.fonts` says where it
comes from). :func:`cjk_font_path` finds it, :func:`ensure_fonts` registers it with
matplotlib's font manager, and the style sets the family to a fallback list
``['DejaVu Sans', 'Noto Sans SC']``: matplotlib (>= 3.6) takes each glyph from the
first font that has it, so Latin text stays DejaVu Sans and Chinese comes from Noto.
Without the package a warning is logged once and charts are still drawn (Chinese as
boxes); the chart tests fail in that case.

Output
------
PNG at 150 dpi and SVG with text as paths (``svg.fonttype: path``), so the SVG needs
no font on the reader's machine. No PDF: matplotlib embeds OTF/CFF fonts badly.
The same chart gives the same bytes in every run: a fixed ``svg.hashsalt`` for the
SVG's ids, those hashed from the layout's unrounded floats renamed in order
(:func:`stable_svg_ids`), and no date in its metadata (the PNG has none).

Layout of a chart
-----------------
A title that states the finding (English, bold), the same finding in Chinese below it
(subtitle), the plot, and a small grey source note in the bottom-left corner
("Simulation, N replications, 95% CI ..."). Labels are bilingual with units:
``label("Service level", "服务水平", "%")`` -> ``"Service level 服务水平 (%)"``.
"""
from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure

from analysis.fonts import FONT_DIST, FONT_FILE, FONT_PACKAGE, cjk_font_path  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

LATIN_FAMILY = "DejaVu Sans"

DPI = 150
WIDTH_IN = 8.0

# Okabe & Ito (2008) colour-blind-safe palette.
BLUE = "#0072B2"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
BLACK = "#000000"
GREY = "#8C8C8C"
LIGHT_GREY = "#D9D9D9"
TEXT_GREY = "#555555"
#: Order of colours for categorical series.
CYCLE = (BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE, BLACK, YELLOW)
#: Better / worse / no significant difference (policy comparisons).
BETTER, WORSE, NEUTRAL = GREEN, VERMILLION, GREY

TITLE_SIZE = 12.5
SUBTITLE_SIZE = 10.5
BASE_SIZE = 9.5
NOTE_SIZE = 7.5

_font_state: dict = {}


class _NoBoldCjkWarning(logging.Filter):
    """The CJK font has one weight; matplotlib's note that bold Chinese is drawn in
    the regular weight is expected, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Failed to find font weight" not in record.getMessage()


def ensure_fonts() -> str | None:
    """Register the CJK font with matplotlib (once); return its family name, or None
    (with one logged warning) when the font package is missing."""
    if "family" in _font_state:
        return _font_state["family"]
    path = cjk_font_path()
    family = None
    if path is None:
        log.warning("Chinese font missing: install the package %s (pip install %s, a dependency of "
                    "hotline-sim); charts will show Chinese as boxes", FONT_DIST, FONT_DIST)
    else:
        font_manager.fontManager.addfont(str(path))
        logging.getLogger("matplotlib.font_manager").addFilter(_NoBoldCjkWarning())
        family = font_manager.FontProperties(fname=str(path)).get_name()
    _font_state["family"] = family
    _font_state["path"] = path
    return family


def rc_params() -> dict:
    """The matplotlib settings of every chart."""
    cjk = ensure_fonts()
    return {
        "font.family": [LATIN_FAMILY] + ([cjk] if cjk else []),
        "font.size": BASE_SIZE,
        "axes.titlesize": BASE_SIZE + 0.5,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.labelsize": BASE_SIZE,
        "axes.labelcolor": "#222222",
        "axes.edgecolor": "#444444",
        "axes.linewidth": 0.8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.axisbelow": True,
        "axes.prop_cycle": matplotlib.cycler(color=list(CYCLE)),
        "grid.color": "#E5E5E5",
        "grid.linewidth": 0.7,
        "xtick.labelsize": BASE_SIZE - 0.5,
        "ytick.labelsize": BASE_SIZE - 0.5,
        "xtick.color": "#333333",
        "ytick.color": "#333333",
        "legend.fontsize": BASE_SIZE - 0.5,
        "legend.frameon": False,
        "lines.linewidth": 1.8,
        "lines.markersize": 5,
        "errorbar.capsize": 0,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "svg.fonttype": "path",
        # fixed ids in the SVG (clip paths, glyph paths): the same chart, the same bytes
        "svg.hashsalt": "hotline-sim",
        "axes.unicode_minus": True,
    }


@contextlib.contextmanager
def style():
    """Context in which charts are built and saved. Without the CJK font, matplotlib's
    one warning per missing glyph is silenced: :func:`ensure_fonts` said it once.
    Re-entering it (measuring text while a chart is finished) changes nothing and costs
    nothing: only the outermost context sets the parameters."""
    if _font_state.get("styled"):
        yield
        return
    with matplotlib.rc_context(rc_params()), warnings.catch_warnings():
        if _font_state.get("family") is None:
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        _font_state["styled"] = True
        try:
            yield
        finally:
            _font_state["styled"] = False


def label(en: str, zh: str | None = None, unit: str | None = None) -> str:
    """Bilingual axis label with its unit: ``Service level 服务水平 (%)``."""
    text = en if not zh else f"{en} {zh}"
    return f"{text} ({unit})" if unit else text


def name(en: str, zh: str | None) -> str:
    """A place or class in both languages: ``Chaoyang 朝阳区``."""
    return f"{en} {zh}" if zh else en


#: Punctuation that must not start a line (it stays on the line before).
NO_LINE_START = set("，。；：、）》」』！？,.;:)%")


def text_width_in(text: str, size: float, bold: bool = False) -> float:
    """Width of one line of ``text`` in inches as matplotlib would draw it (the CJK
    fallback included)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties
    renderer = _font_state.get("renderer")
    if renderer is None:
        renderer = _font_state["renderer"] = RendererAgg(100, 100, 72)
    with style():
        prop = FontProperties(size=size, weight="bold" if bold else "normal")
        w, _, _ = renderer.get_text_width_height_descent(text, prop, ismath=False)
    return w / 72.0


def wrap(text: str, width_in: float, size: float, bold: bool = False) -> str:
    """Wrap ``text`` into lines no wider than ``width_in`` inches at ``size`` points:
    at spaces, or anywhere in Chinese (preferring after punctuation).

    Greedy, as if each token were tried in turn: a line breaks before the first token
    (not a closing punctuation mark, :data:`NO_LINE_START`) that would make it too wide.
    That token is found by bisection over the line's tokens, a few measurements instead
    of one per token (measuring is most of the time a chart takes to build): the width
    of a line only grows as tokens are added (the glyphs laid out so far do not move, so
    their bounding box only grows), so "too wide" is false, then true, along a line."""
    lines = []
    for para in text.split("\n"):
        # a word (with the CJK character right after it: '1个'), one CJK character, or spaces
        tokens = wrap_tokens(para)
        line, i = "", 0
        while i < len(tokens):
            if not line:  # an empty line takes its next token whatever its width
                line, i = line + tokens[i], i + 1
                continue
            # the candidates to break before: tokens that may start a line
            ends = [j for j in range(i, len(tokens)) if tokens[j] not in NO_LINE_START]
            lo, hi = 0, len(ends)  # the first candidate that makes the line too wide: ends[lo], or none
            while lo < hi:
                mid = (lo + hi) // 2
                trial = line + "".join(tokens[i:ends[mid] + 1])
                if text_width_in(trial.rstrip(), size, bold) > width_in:
                    hi = mid
                else:
                    lo = mid + 1
            if lo == len(ends):  # the rest of the paragraph fits
                line += "".join(tokens[i:])
                break
            lines.append((line + "".join(tokens[i:ends[lo]])).rstrip())
            line, i = tokens[ends[lo]].lstrip(), ends[lo] + 1
        lines.append(line.rstrip())
    return "\n".join(lines)


#: Where a line may break: a Latin word with its trailing space (and a CJK character glued
#: to it), one CJK character or full-width mark, or a run of spaces.
_WRAP_TOKEN = re.compile(r"[^\s\u3000-\u9fff\uff00-\uffef]+[\u3000-\u9fff]?\s*|[\u3000-\u9fff\uff00-\uffef]|\s+")


def wrap_tokens(paragraph: str) -> list[str]:
    """The pieces :func:`wrap` breaks a paragraph into (a line is a run of them)."""
    return _WRAP_TOKEN.findall(paragraph)


def new_figure(height: float = 4.6, width: float = WIDTH_IN, **subplots) -> tuple[Figure, object]:
    """A figure (no pyplot: nothing global, nothing to close) and its axes."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(**subplots)


def finish(fig: Figure, title: str, subtitle: str | None = None, note: str | None = None,
           legend: tuple[list, list] | None = None, legend_cols: int = 3) -> None:
    """Title (the finding), Chinese subtitle, an optional figure legend (handles,
    labels) under them, and the source note at the bottom; reserves room for all."""
    with style():
        _finish(fig, title, subtitle, note, legend, legend_cols)


def _finish(fig: Figure, title: str, subtitle: str | None, note: str | None, legend, legend_cols: int) -> None:
    width, height = fig.get_size_inches()
    left = 0.14 / width
    title_txt = wrap(title, width - 0.3, TITLE_SIZE, bold=True)
    sub_txt = wrap(subtitle, width - 0.3, SUBTITLE_SIZE) if subtitle else ""
    note_txt = wrap(note, width - 0.3, NOTE_SIZE) if note else ""
    line = 1.32 / 72  # inches per point of line height
    title_h = (title_txt.count("\n") + 1) * TITLE_SIZE * line
    sub_h = (sub_txt.count("\n") + 1) * SUBTITLE_SIZE * line + 0.04 if sub_txt else 0.0
    y_in = 0.12
    fig.text(left, 1 - y_in / height, title_txt, ha="left", va="top", fontsize=TITLE_SIZE, fontweight="bold",
             color="#111111", linespacing=1.25)
    y_in += title_h + 0.04
    if sub_txt:
        fig.text(left, 1 - y_in / height, sub_txt, ha="left", va="top", fontsize=SUBTITLE_SIZE, color="#333333",
                 linespacing=1.25)
        y_in += sub_h
    if legend is not None and legend[0]:
        handles, labels = legend
        rows = -(-len(handles) // legend_cols)
        leg = fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(left - 0.01, 1 - (y_in + 0.02) / height),
                         bbox_transform=fig.transFigure, ncols=legend_cols, fontsize=BASE_SIZE - 0.5,
                         borderaxespad=0, handlelength=1.8, columnspacing=1.6)
        leg.set_in_layout(False)
        y_in += 0.06 + rows * (BASE_SIZE - 0.5) * 1.75 / 72
    top_in = y_in + 0.14
    bottom_in = 0.08 + ((note_txt.count("\n") + 1) * NOTE_SIZE * line + 0.06 if note_txt else 0.0)
    if note_txt:
        fig.text(left, 0.06 / height, note_txt, ha="left", va="bottom", fontsize=NOTE_SIZE,
                 color=TEXT_GREY, linespacing=1.25)
    # rect is (left, bottom, width, height) in figure fractions
    fig.get_layout_engine().set(rect=(0.0, bottom_in / height, 1.0, 1.0 - (top_in + bottom_in) / height))


def source_note(replications: int | None = None, extra: str | None = None, ci: bool = True) -> str:
    """``Simulation, N replications, 95% CI`` plus what else the reader needs."""
    parts = ["Source: simulation (hotline-sim)"]
    if replications:
        parts.append(f"{replications} replications")
    if ci:
        parts.append("bars and bands = 95% CI")
    text = ", ".join(parts)
    return f"{text}. {extra}" if extra else text + "."


def save(fig: Figure, out_dir: Path, name: str, title: str | None = None, description: str | None = None) -> Path:
    """Write ``out_dir/<name>.png`` (150 dpi) and ``.svg`` (text as paths, ids made
    stable: :func:`stable_svg_ids`), atomically, with the title and description in the
    files' metadata; return the PNG path."""
    from analysis.io import write_bytes_atomic
    out_dir = Path(out_dir)
    png, svg = io.BytesIO(), io.BytesIO()
    meta = {k: v for k, v in (("Title", title), ("Description", description)) if v}
    with style():
        fig.savefig(png, format="png", dpi=DPI, metadata={**meta, "Software": "hotline-sim analysis.charts"})
        fig.savefig(svg, format="svg", metadata={**meta, "Date": None})
    write_bytes_atomic(out_dir / f"{name}.png", png.getvalue())
    write_bytes_atomic(out_dir / f"{name}.svg", stable_svg_ids(svg.getvalue()))
    return out_dir / f"{name}.png"


#: matplotlib's SVG ids of clip paths, markers and hatches (``p``, ``m``, ``h`` and 10
#: hex digits, ``backend_svg._make_id``) where they are defined (``id="..."``) or used
#: (``url(#...)``, ``href="#..."``).
_SVG_HASH_ID = re.compile(rb'(?<=["#])([phm])[0-9a-f]{10}(?=[")])')


def stable_svg_ids(svg: bytes) -> bytes:
    """The SVG with matplotlib's hashed ids renamed ``p_1``, ``m_2``, ... in order of
    first appearance. matplotlib hashes a clip path's unrounded coordinates, which
    constrained layout's solver can give differently in the last bit depending on what
    the process drew before, while the coordinates written are the same: so the same
    chart gave different bytes depending on which process drew it. Renamed, the bytes
    depend only on the drawing."""
    names: dict[bytes, bytes] = {}

    def rename(m: re.Match) -> bytes:
        return names.setdefault(m.group(0), b"%s_%d" % (m.group(1), len(names) + 1))

    return _SVG_HASH_ID.sub(rename, svg)
