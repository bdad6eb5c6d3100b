"""Titles, subtitles and notes wrap the same with bisection as measured token by token
(analysis.charts.style.wrap against wrap_token_by_token, below): the charts' text, and so
their files, did not change when wrapping got faster."""
from __future__ import annotations

import pytest

from analysis.charts import style as cs
from analysis.charts.chart import CAPTIONS

def wrap_token_by_token(text: str, width_in: float, size: float, bold: bool = False) -> str:
    """The reference :func:`analysis.charts.style.wrap` must equal: the line measured
    after every token, breaking before the first one (that may start a line) too wide."""
    lines = []
    for para in text.split("\n"):
        line = ""
        for tok in cs.wrap_tokens(para):
            trial = line + tok
            if line and tok not in cs.NO_LINE_START and cs.text_width_in(trial.rstrip(), size, bold) > width_in:
                lines.append(line.rstrip())
                line = tok.lstrip()
            else:
                line = trial
        lines.append(line.rstrip())
    return "\n".join(lines)


MIXED = [
    "Deadline compliance 按时办结率 varies from 61.2% (Yanqing 延庆区) to 93.4% (Dongcheng 东城区)；"
    "多数区差异不显著。 Source: simulation (hotline-sim), 6 replications, bars and bands = 95% CI.",
    "各区按时办结率：最低为延庆区（61.2%），最高为东城区（93.4%），与全市均值相比，多数区无显著差异，"
    "（括号）、顿号、句号。问号？感叹号！",
    "A short title",
    "   leading and  double  spaces, trailing   ",
    "one\n\ntwo paragraphs\nand a third 第三段，很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长。",
    "Averyveryveryveryveryveryveryveryveryveryveryveryveryverylongwordthatcannotbreak then more words",
    "",
]


@pytest.mark.parametrize("width_in", [1.2, 3.0, 7.7])
@pytest.mark.parametrize("size, bold", [(cs.TITLE_SIZE, True), (cs.NOTE_SIZE, False)])
def test_bisection_wraps_as_token_by_token(width_in, size, bold):
    texts = MIXED + list(CAPTIONS.values())[:6]
    with cs.style():
        for text in texts:
            assert cs.wrap(text, width_in, size, bold) == wrap_token_by_token(text, width_in, size, bold), text


def test_wrapped_chinese_keeps_every_character_and_no_line_starts_with_closing_punctuation():
    text = MIXED[1]
    with cs.style():
        lines = cs.wrap(text, 2.5, cs.SUBTITLE_SIZE).split("\n")
        # a line is too wide only by the closing punctuation it had to keep
        assert all(cs.text_width_in(line.rstrip("".join(cs.NO_LINE_START)), cs.SUBTITLE_SIZE) <= 2.5 or
                   cs.text_width_in(line[:-1], cs.SUBTITLE_SIZE) <= 2.5 for line in lines)
    assert len(lines) > 3 and "".join(lines) == text
    assert not any(line[0] in cs.NO_LINE_START for line in lines[1:])
