"""The project's Chinese font: Noto Sans SC, where it comes from and which characters need it.

Charts (:mod:`analysis.charts.style`) draw their Chinese with it and the report
(:mod:`analysis.report.webfont`) embeds a subset of it, so both show the same glyphs on
any machine, with or without a CJK font of its own.

Why this font and this source
-----------------------------
Noto Sans SC is the *Simplified Chinese* (mainland) edition of Noto Sans CJK: the same
code point is drawn in mainland forms (the forms a Beijing briefing expects), where the
Traditional edition (TC) draws Taiwan forms for some characters. It is licensed under
the SIL Open Font License 1.1 (no reserved font name "Noto"; the licence's text is in
the font's ``name`` table and ships with the package).

It is installed by the project's own dependencies from PyPI: the data-only wheel
``pylopdf-fonts-zh-cn`` holds ``NotoSansSC-Regular.otf`` (Noto Sans SC 2.004, taken
unchanged from notofonts/noto-cjk, ``Sans/SubsetOTF/SC``; the wheel's README gives the
revision and the file's SHA-256, :data:`FONT_SHA256`, which the tests check) with the
OFL in its ``LICENSE``. It replaces ``cvttf-notosanscjk-regular`` (one release,
licence metadata "UNKNOWN", the TC edition).
"""
from __future__ import annotations

from pathlib import Path

#: The PyPI package (``pylopdf-fonts-zh-cn``, import name below) and the font file in it.
FONT_PACKAGE = "pylopdf_fonts_zh_cn"
FONT_DIST = "pylopdf-fonts-zh-cn"
FONT_FILE = "NotoSansSC-Regular.otf"
#: The family name in the font's ``name`` table.
FONT_FAMILY = "Noto Sans SC"
#: SHA-256 of the file as published by notofonts/noto-cjk (and stated by the wheel).
FONT_SHA256 = "faa6c9df652116dde789d351359f3d7e5d2285a2b2a1f04a2d7244df706d5ea9"
FONT_LICENCE = "SIL Open Font License 1.1"

#: Code point ranges drawn from the Chinese font: CJK radicals, CJK symbols and
#: punctuation (、。《》), CJK ideographs (with extension A, compatibility ideographs and
#: the supplementary planes' extensions) and full-width forms (，：（）). Everything else
#: (Latin, digits, “quotes”) comes from the Latin fonts.
CJK_RANGES = ((0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
              (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0x20000, 0x3134F))


def is_cjk(ch: str) -> bool:
    """Whether a character is drawn from the Chinese font (see :data:`CJK_RANGES`)."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def cjk_chars(text: str) -> list[str]:
    """The distinct CJK characters of ``text``, in code point order (the distinct
    characters first: a report with its charts inline is millions of characters)."""
    return sorted(ch for ch in set(text) if is_cjk(ch))


def cjk_font_path() -> Path | None:
    """Path of ``NotoSansSC-Regular.otf`` from the font package, or None if not installed."""
    try:
        from importlib.resources import files
        path = Path(str(files(FONT_PACKAGE) / FONT_FILE))
    except (ImportError, ModuleNotFoundError, TypeError):
        return None
    return path if path.is_file() else None
