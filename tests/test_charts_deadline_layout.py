"""Issue 13: deadline_compliance_by_district's "all streets" label does not collide
with the "mean" header of its value column (or with any value)."""
from __future__ import annotations

from analysis import charts
from tests.test_charts import _fig_texts


def test_deadline_compliance_all_streets_label_clears_the_mean_header(tmp_path):
    rows = []
    for rep in range(3):
        for d, (name, zh) in enumerate([("Dongcheng", "东城区"), ("Xicheng", "西城区"), ("Chaoyang", "朝阳区"),
                                        ("Haidian", "海淀区"), ("Fengtai", "丰台区")]):
            rows.append({"replication": rep, "month": "2019-07", "district": name, "district_zh": zh,
                         "deadline_due": 1000, "deadline_met": 880 + 20 * d + 3 * rep})
    chart = charts.deadline_compliance_by_district(rows)
    texts = _fig_texts(chart.fig)
    label = next(t for t in texts if t.get_text().startswith("all streets"))
    header = next(t for t in texts if t.get_text().startswith("mean"))
    renderer = chart.fig.canvas.get_renderer()
    a, b = label.get_window_extent(renderer), header.get_window_extent(renderer)
    assert not a.overlaps(b)
    # in its own band below the districts, inside the plot
    assert label.get_position()[1] < -0.5 and chart.fig.axes[0].get_ylim()[0] < label.get_position()[1]
    for t in texts:  # and clear of every district's value label
        if t is not label and t.get_text().endswith("%") and t.get_text()[0].isdigit():
            assert not a.overlaps(t.get_window_extent(renderer))
    chart.save(tmp_path)
