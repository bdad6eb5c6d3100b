"""``python -m analysis.report RUN_DIR`` (or ``SWEEP_DIR``): write its report.html."""
import sys

from analysis.report.render import main

sys.exit(main())
