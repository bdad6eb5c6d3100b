"""Issue 13: the ``focal_month`` key is checked before the run."""
from __future__ import annotations

from datetime import datetime

import pytest

from sim.config import check_focal_month
from sim.errors import ConfigError


def test_focal_month_config_is_validated():
    start = datetime(2019, 11, 1)
    check_focal_month(None, start, 7, 37)
    check_focal_month("2019-11", start, 7, 37)
    check_focal_month("2019-12", start, 7, 37)
    for bad in ("2019-10", "2019-13", "November", 201911):
        with pytest.raises(ConfigError, match="focal_month"):
            check_focal_month(bad, start, 7, 37)


def test_a_bad_focal_month_stops_the_run_in_one_line():
    import subprocess
    import sys
    from pathlib import Path
    proc = subprocess.run([sys.executable, "run.py", "focal_month=2019-13"], cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("config error: focal_month = '2019-13' is not allowed; expected null or a month of "
                                   "the measured window as YYYY-MM: 2019-06, 2019-07, 2019-08")
