"""Lean imports: what only simulates, configures or compares does not load the chart
stack (matplotlib), SciPy's stats module or, for the comparison, SimPy. Each check runs
in a fresh interpreter, since this test process has long imported all of them.

The local executor's workers start with ``spawn``: a fresh interpreter that imports the
parent's main script again (``run.py`` under ``python run.py``) before it simulates, so
whatever run.py imports at the top, every worker imports too.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Never needed to simulate a replication and reduce it.
HEAVY = ("matplotlib", "analysis.charts", "analysis.report", "scipy.stats")


def loaded(code: str, timeout: float = 120) -> list[str]:
    """Run ``code`` in a fresh interpreter in the repository; it prints one line, a
    Python list (of module names)."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return eval(proc.stdout.strip().splitlines()[-1])  # noqa: S307 - our own one-line repr


def heavy_modules(_records=None) -> list[str]:
    """Which of :data:`HEAVY` this process has imported (a ``reduce`` for the executor)."""
    return [m for m in HEAVY if m in sys.modules]


def test_importing_run_loads_no_chart_stack():
    assert loaded(f"""
        import sys, run
        print([m for m in {HEAVY!r} if m in sys.modules])
    """) == []


def test_importing_the_comparison_loads_no_simulation():
    assert loaded("""
        import sys, analysis.compare
        print([m for m in ("simpy", "sim.model", "sim.ticketing", "matplotlib") if m in sys.modules])
    """) == []


def test_the_report_and_the_sweep_do_not_import_each_other():
    """analysis.sweep writes a sweep's report, so it imports analysis.report (when it
    writes); the report reads the sweep table through analysis.sweep_table, never
    through analysis.sweep: no import cycle."""
    assert loaded("""
        import sys, analysis.report
        print([m for m in ("analysis.sweep", "matplotlib") if m in sys.modules])
    """) == []


def worker_modules(main_script: Path, replications: int = 2) -> list[list[str]]:
    """What each worker of the local executor has imported when it reduces a
    replication, the parent's main script being ``main_script``. The real path of
    ``python run.py executor=local``: sim.experiment's pool spawns the workers, each
    imports the main script again (multiprocessing reads its path from
    ``__main__.__file__``), simulates and reduces."""
    return loaded(f"""
        import sys
        import run
        sys.modules["__main__"].__file__ = {str(main_script)!r}
        from sim.experiment import ExecutorConfig, run_experiment
        from tests.conftest import erlang_config
        from tests.test_imports import heavy_modules
        cfg = erlang_config(agents=5, arrivals_per_min=0.5, days=0.2, warmup_days=0.0, replications={replications})
        print(run_experiment(cfg, heavy_modules, executor=ExecutorConfig("local", workers={replications})))
    """)


def test_a_local_executor_worker_imports_no_chart_stack():
    assert worker_modules(REPO / "run.py") == [[], []]


def test_the_worker_check_sees_what_the_main_script_imports(tmp_path):
    # the check is not blind: a main script that imports matplotlib puts it in every worker
    script = tmp_path / "main_with_charts.py"
    script.write_text("import matplotlib.figure\nimport run\n", encoding="utf-8")
    assert "matplotlib" in worker_modules(script, replications=1)[0]
