"""``python -m analysis.charts RUN_DIR [--baseline RUN_A] [--out DIR]``: draw a run's
charts (:func:`analysis.charts.make.main`)."""
import sys

from analysis.charts.make import main

sys.exit(main())
