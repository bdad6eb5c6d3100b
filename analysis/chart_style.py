"""The chart style moved into the chart package: :mod:`analysis.charts.style`. This
name stays importable for code written against it, and is that very module (not a
copy), so setting an attribute here (a test's monkeypatch) changes the style in use."""
import sys

from analysis.charts import style as _style

sys.modules[__name__] = _style
