"""The report's own Chinese font: a subset of Noto Sans SC holding only the CJK
characters the page uses, embedded as a base64 WOFF ``@font-face``.

Why: a report that takes its Chinese from the reader's system shows every Chinese word
as a box on a machine without a CJK font, and in Japanese or Traditional forms on a
machine whose first CJK font is one of those. The subset keeps the file self-contained
(one file to mail) and small: only the glyphs of the page (a few hundred; tens of KB).
WOFF (zlib) rather than WOFF2, which would need the ``brotli`` package for ~20% less.

The subset keeps the font's licence (OFL 1.1) and copyright in its ``name`` table, and
is the same bytes for the same text (no time stamp is written), so a report written
twice is the same file. Without the font package the page falls back to the reader's
fonts (the CSS font stack names the usual Chinese ones) and no rule is written.
"""
from __future__ import annotations

import base64
import functools
import io
import logging

from analysis.fonts import FONT_FAMILY, FONT_LICENCE, cjk_chars, cjk_font_path

#: The family the report's CSS names first (the embedded subset).
CSS_FAMILY = "Report Noto Sans SC"
#: What the ``@font-face`` rule goes in place of in ``report.css``.
PLACEHOLDER = "/* @font-face: the page's CJK subset (analysis.report.webfont) */"
#: ``name`` table records kept: family, style, ids and version (0-6), licence and its URL (13, 14).
NAME_IDS = (0, 1, 2, 3, 4, 5, 6, 13, 14)


@functools.lru_cache(maxsize=8)
def subset_woff(chars: str) -> bytes:
    """A WOFF of Noto Sans SC holding the glyphs of ``chars`` (and ``.notdef``)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    path = cjk_font_path()
    if path is None:
        raise FileNotFoundError("the Chinese font package is not installed")
    options = subset.Options()
    options.flavor = "woff"
    options.name_IDs = list(NAME_IDS)
    options.name_languages = ["*"]
    options.hinting = False  # screen and print at report sizes: the outlines suffice
    options.desubroutinize = True  # compresses better than the subroutines it keeps
    options.notdef_outline = True
    options.layout_features = ["*"]  # vertical and locale forms, as the full font has them
    font = TTFont(str(path), lazy=True, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars])
    quiet = logging.getLogger("fontTools")  # the subsetter logs every table it prunes at INFO
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        subsetter.subset(font)
    finally:
        quiet.setLevel(level)
    out = io.BytesIO()
    font.flavor = "woff"
    font.save(out, reorderTables=True)
    return out.getvalue()


def font_face_css(page: str) -> str:
    """The ``@font-face`` rule of ``page``'s CJK characters ("" when the page has none
    or the font is not installed). One regular face: the browser draws bold Chinese
    (headings, table heads) by emboldening it."""
    chars = "".join(cjk_chars(page))
    if not chars or cjk_font_path() is None:
        return ""
    data = base64.b64encode(subset_woff(chars)).decode("ascii")
    return (f"/* {FONT_FAMILY}, subset to the {len(chars)} CJK characters of this page; {FONT_LICENCE} */\n"
            f"@font-face {{ font-family: \"{CSS_FAMILY}\"; font-style: normal; font-weight: normal;\n"
            f"  src: url(data:font/woff;base64,{data}) format(\"woff\"); }}")


def embed_font(html: str) -> str:
    """``html`` with :data:`PLACEHOLDER` replaced by the ``@font-face`` of its CJK characters."""
    return html.replace(PLACEHOLDER, font_face_css(html), 1)
