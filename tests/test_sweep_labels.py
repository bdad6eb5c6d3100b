"""Sweep charts speak in words (issue 13): swept settings as ``seats 400`` and
``two-level dispatch``, not override syntax; series that are identical are drawn once
and said to be identical, and the others do not hide each other; README's sweep examples
each have a study of their own."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import yaml

from analysis import charts
from analysis.charts.sweep_labels import param_label, tick_label, value_label

REPO = Path(__file__).resolve().parent.parent
RAW = re.compile(r"\b[a-z_]+(\.[a-z_]+)*=\S")  # key=value, the override syntax


def _rows(metric="service_level", ranking=("w10_45_45", "w30_35_35"), gap=0.02):
    rows = []
    for policy, off in (("direct", 0.0), ("two_level", gap)):
        for w in ranking:
            for seats, v in ((400, 0.70), (500, 0.85), (650, 0.95)):
                rows.append({"job": f"call_center.seats={seats},dispatch={policy},ranking={w}",
                             "call_center.seats": str(seats), "dispatch": policy, "ranking": w, "metric": metric,
                             "mean": v - off, "ci_low": v - off - 0.01, "ci_high": v - off + 0.01,
                             "n_replications": 3})
    return rows


def _texts(chart) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(chart.fig).draw()
    text = " | ".join(t.get_text() for t in chart.fig.findobj(match=lambda a: hasattr(a, "get_text"))
                      if t.get_text())
    return " ".join(text.split())  # the note is wrapped


def test_settings_in_words_in_both_languages():
    assert value_label("call_center.seats", "400") == ("seats 400", "坐席数 400")
    assert value_label("dispatch", "two_level") == ("two-level dispatch", "两级派单")
    assert value_label("ranking", "w30_35_35") == ("weights 30/35/35", "权重 30/35/35")
    assert value_label("ranking", "equal") == ("equal weights", "等权重")
    assert value_label("dispatch", "")[0] == "dispatch policy: as configured"
    assert tick_label("dispatch", "pooled") == ("Pooled caseworkers", "区级统筹")
    # a key the vocabulary does not know: readable, no dots, no '=', no invented Chinese
    en, zh, unit = param_label("streets.resolution.late_logit")
    assert en == "Late logit (streets resolution)" and zh == "" and unit is None
    assert value_label("streets.resolution.late_logit", "-0.5") == ("late logit (streets resolution): -0.5", "")


def test_no_override_syntax_in_title_legend_ticks_note_or_caption():
    chart = charts.sweep_kpi_chart(_rows(), "service_level")
    text = _texts(chart) + " | " + chart.describe()
    assert not RAW.search(text), RAW.search(text)
    assert "call_center" not in text and "two_level" not in text and "w30_35_35" not in text
    legend = [t.get_text() for t in chart.fig.axes[0].get_legend().get_texts()]
    assert legend == ["direct dispatch 直派街乡", "two-level dispatch 两级派单"]
    assert "(direct dispatch)" in chart.title


def test_identical_series_are_drawn_once_and_named():
    """Ranking weights without the accountability loop change no KPI: four series, two
    pairs of identical ones; each pair is one line, and the note says why."""
    chart = charts.sweep_kpi_chart(_rows(), "service_level")
    assert chart.facts["no_effect"] == ["ranking"]
    assert len(chart.facts["identical"]) == 2
    assert len([line for line in chart.fig.axes[0].lines if len(line.get_xdata()) == 3]) == 2
    text = _texts(chart)
    assert "Ranking weights 排名权重 (10/45/45, 30/35/35) changes nothing in service level" in text
    # identical only in part (here: every series the same): still drawn once, with no empty legend
    flat = charts.sweep_kpi_chart(_rows(gap=0.0), "service_level")
    assert sorted(flat.facts["no_effect"]) == ["dispatch", "ranking"]
    assert flat.fig.axes[0].get_legend() is None


def test_different_series_do_not_hide_each_other():
    """Two series close together: each has its own marker and a small sideways offset,
    so neither covers the other."""
    chart = charts.sweep_kpi_chart(_rows(ranking=("w10_45_45",), gap=0.001), "service_level")
    lines = [line for line in chart.fig.axes[0].lines if len(line.get_xdata()) == 3]
    assert len(lines) == 2
    assert lines[0].get_marker() != lines[1].get_marker()
    x0, x1 = (np.asarray(line.get_xdata(), float) for line in lines)
    assert np.all(x0 != x1) and np.all(np.abs(x0 - x1) < 0.05 * 250)  # apart, yet near the true seats
    assert np.allclose((x0 + x1) / 2, [400, 500, 650])


def test_sweep_chart_note_names_the_swept_settings_in_words(tmp_path):
    charts.make_sweep_charts(_rows(), tmp_path, metrics=("service_level",))
    import json
    cap = json.loads((tmp_path / "captions.json").read_text(encoding="utf-8"))["sweep_service_level"]
    assert not RAW.search(json.dumps(cap, ensure_ascii=False)) and "call_center" not in json.dumps(cap)
    chart = charts.sweep_kpi_chart(_rows(), "service_level", note="Sweep of 12 runs over seats.")
    assert "Sweep of 12 runs over seats." in _texts(chart)


def test_readme_sweep_examples_each_have_their_own_study():
    """A sweep without sweep_name goes to multirun/sweep/: two such examples would merge
    into one study. Every README sweep names its study (or is an experiment, which does)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = list(dict.fromkeys(" ".join(line.split("#")[0].split()) for line in text.splitlines()
                                  if re.search(r"run\.py .*-m\b|run\.py -m", line)))  # each command once
    assert commands
    names = []
    for cmd in commands:
        m = re.search(r"sweep_name=(\S+)", cmd)
        e = re.search(r"experiment=(\S+)", cmd)
        assert m or e, f"README sweep without sweep_name: {cmd.strip()}"
        if m:
            names.append(m.group(1))
        else:
            cfg = yaml.safe_load((REPO / "conf" / "experiment" / f"{e.group(1)}.yaml").read_text(encoding="utf-8"))
            names.append(cfg.get("sweep_name"))
    assert None not in names and "sweep" not in names
    assert len(set(names)) == len(names), names
