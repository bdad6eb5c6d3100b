"""hotline-sim as an installed tool: its version, and where its config and data files are.

The model lives in ``sim/`` and ``analysis/`` and the entry point in ``run.py`` (the
console command ``hotline-sim`` calls ``run.cli``). What a wheel must carry besides code,
the Hydra config (``conf/``) and the named data files (``scenarios/``), is shipped inside
this package as ``hotline_sim/conf`` and ``hotline_sim/scenarios`` (pyproject.toml maps
the repository's top-level folders there). :mod:`hotline_sim.paths` finds them the same
way in a checkout, an editable install and a normal install.

Kept light: ``run.py`` and the spawned workers import it (no NumPy, no Hydra).
"""
from __future__ import annotations

from hotline_sim.paths import CONF_DIR, SCENARIOS_DIR, package_version

#: The package's version: from pyproject.toml in a checkout (its single source), else
#: from the installed package's metadata ("0+unknown" if neither is there).
__version__ = package_version()

__all__ = ["CONF_DIR", "SCENARIOS_DIR", "__version__"]
