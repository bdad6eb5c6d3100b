"""Swept settings in words, in English and Chinese, for the sweep charts' axes, legends,
titles and notes: ``seats 400`` / ``坐席数 400``, ``two-level dispatch`` / ``两级派单``,
``weights 30/35/35`` / ``权重 30/35/35`` -- never the override syntax
(``call_center.seats=400``).

The one vocabulary of config keys a sweep may vary (:data:`PARAMS`); a key it does not
know is made readable from its dotted name (``streets.capacity.target_utilisation`` ->
``Target utilisation (streets capacity)``), with no Chinese name invented for it.
"""
from __future__ import annotations

import math
import re

from analysis.charts.vocabulary import POLICY

#: swept config key -> (English, Chinese, unit or None). A short English name: it is
#: also the start of a value's label (``Seats`` -> ``seats 400``).
PARAMS = {
    "call_center.seats": ("Seats", "坐席数", "seats"),
    "call_center.roster": ("Roster", "排班", None),
    "call_center.weekend_roster": ("Weekend roster", "周末排班", None),
    "call_center.sl_threshold_s": ("Service-level threshold", "服务水平阈值", "s"),
    "arrivals.daily_calls": ("Expected calls per day", "日均来电", "calls/day"),
    "streets.capacity.scale": ("Street capacity scale", "街乡办理能力系数", "x"),
    "streets.capacity.target_utilisation": ("Caseworker target utilisation", "街乡目标利用率", None),
    "dispatch": ("Dispatch policy", "派单方式", None),
    "dispatch.policy": ("Dispatch policy", "派单方式", None),
    "dispatch.centre.worker": ("Centre dispatch work by", "中心派单人员", None),
    "survey.staffing": ("Callbacks made by", "回访人员", None),
    "ranking": ("Ranking weights", "排名权重", None),
    "ranking.rectification_n": ("Streets in rectification", "整改街乡数", "streets"),
    "ranking.rectification_rule": ("Rectification rule", "整改规则", None),
    "ranking_design": ("Ranking design", "排名设计", None),
    "accountability": ("Accountability", "问责机制", None),
    "scenario": ("Scenario", "情景", None),
    "seed": ("Seed", "随机种子", None),
}
#: Named values of some keys in words (English, Chinese); dispatch policies come from
#: the policy plug-ins (:data:`~analysis.charts.vocabulary.POLICY`), weight sets from
#: their names (:func:`_weights_words`).
VALUES = {
    "accountability": {"none": ("no accountability loop", "无问责"), "pressure": ("accountability loop", "排名问责"),
                       "frozen": ("loop frozen at its start", "问责冻结")},
    "survey.staffing": {"team": ("callback team", "回访专班"), "shared": ("callbacks by the agents", "坐席兼做回访")},
    "dispatch.centre.worker": {"after_call": ("agent after the call", "话后派单"), "agents": ("any agent", "坐席派单"),
                               "desk": ("dispatch desk", "派单专席")},
    "call_center.roster": {"full": ("every seat all day", "全员全天")},
}
_WEIGHTS = re.compile(r"^w(\d+)_(\d+)_(\d+)$")


def param_label(key: str) -> tuple[str, str, str | None]:
    """(English, Chinese, unit) of a swept config key: from :data:`PARAMS`, else
    readable from its dotted name (Chinese empty, no unit)."""
    key = str(key).lstrip("+~")
    if key in PARAMS:
        return PARAMS[key]
    parts = [p for p in key.split(".") if p]
    if not parts:
        return key, "", None
    last = parts[-1].replace("_", " ")
    en = last[:1].upper() + last[1:]
    if len(parts) > 1:
        en += " (" + " ".join(p.replace("_", " ") for p in parts[:-1]) + ")"
    return en, "", None


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _name(key: str, en: str) -> str:
    """The start of a value's label: the key's short name and a space (``seats 400``), or
    for a key known only by its dotted name, that name and ": " (``key: value``)."""
    return _lower_first(en) + (" " if key in PARAMS else ": ")


def _weights_words(value: str) -> tuple[str, str] | None:
    """A weight set by its name: ``w30_35_35`` -> weights 30/35/35, ``equal`` -> equal weights."""
    if value == "equal":
        return "equal weights", "等权重"
    m = _WEIGHTS.match(value)
    if m:
        w = "/".join(m.groups())
        return f"weights {w}", f"权重 {w}"
    return None


def _number(value: str) -> str | None:
    try:
        v = float(value)
    except ValueError:
        return None
    return f"{v:,.6g}" if math.isfinite(v) else None


def value_label(key: str, value) -> tuple[str, str]:
    """One swept setting in words, (English, Chinese): a policy, a weight set or a
    named value by its name; a number after the key's short name (``seats 400``); an
    empty value (the job did not set the key) ``as configured``."""
    key, value = str(key).lstrip("+~"), "" if value is None else str(value)
    en, zh, _ = param_label(key)
    if value == "":
        return f"{en.lower()}: as configured", f"{zh}：按配置" if zh else ""
    if key in ("dispatch", "dispatch.policy") and value in POLICY:
        p_en, p_zh = POLICY[value]
        return _lower_first(p_en), p_zh
    if key == "ranking" and (weights := _weights_words(value)):
        return weights
    if value in VALUES.get(key, {}):
        return VALUES[key][value]
    name = _name(key, en)
    number = _number(value)
    if number is not None:
        return f"{name}{number}", f"{zh} {number}" if zh else ""
    if value.lower() in ("true", "false"):
        return f"{_lower_first(en)}: {'yes' if value.lower() == 'true' else 'no'}", \
            f"{zh}：{'是' if value.lower() == 'true' else '否'}" if zh else ""
    return f"{name}{value.replace('_', ' ')}", f"{zh} {value}" if zh else ""


def tick_label(key: str, value) -> tuple[str, str]:
    """A value on an axis or in a list that already names the key: a policy by its
    name (``Two-level dispatch``), a weight set by its weights (``30/35/35``), any other
    value by itself (``400``, ``Callback team``)."""
    key, value = str(key).lstrip("+~"), "" if value is None else str(value)
    if key in ("dispatch", "dispatch.policy") and value in POLICY:
        return POLICY[value]
    if key == "ranking" and (m := _WEIGHTS.match(value)):
        return "/".join(m.groups()), ""
    en, zh = value_label(key, value)
    k_en, k_zh, _ = param_label(key)
    prefix_en, prefix_zh = _name(key, k_en), f"{k_zh} "
    en = en[len(prefix_en):] if en.startswith(prefix_en) else en
    zh = zh[len(prefix_zh):] if k_zh and zh.startswith(prefix_zh) else zh
    return en[:1].upper() + en[1:], zh


def settings_label(settings: list[tuple[str, str]]) -> tuple[str, str]:
    """Several swept settings (key, value) in words: English joined by commas, Chinese by 、."""
    words = [value_label(k, v) for k, v in settings]
    return ", ".join(en for en, _ in words), "、".join(zh for _, zh in words if zh)


def bilingual(en: str, zh: str) -> str:
    """``two-level dispatch 两级派单`` (English alone when there is no Chinese)."""
    return f"{en} {zh}" if zh else en
