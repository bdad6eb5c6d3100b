"""Run a scenario: compose the config, simulate its replications, write the outputs.

    python run.py                                  # default scenario (beijing_2019)
    python run.py call_center.seats=650 replications=20
    python run.py scenario=erlang_flat
    python run.py -m call_center.seats=400,500,650 sweep_name=seats  # a sweep: multirun/seats/, a folder per job

Thin by design: it only wires Hydra, ``sim/`` and ``analysis/`` together.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from functools import partial
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

import hotline_sim

# Kept light on purpose: the local executor's workers start with 'spawn' and import this
# module again just to simulate, so the chart and report modules (and matplotlib) are
# imported inside main(), and only when charts or a report are made.
from analysis.created_dirs import remove_if_new
from analysis.kpis.calls import CALL_KPIS, reduce_replication
from sim.ranking import build_ranking_config
from analysis.kpis.practical import build_comparison_config
from analysis.progress import RunProgress
from analysis.records_io import SaveRecordsThenReduce
from analysis.records_io import check_format as check_records_format
from analysis.chart_helpers import chart_helpers
from analysis.run_outputs import OutputConfig, build_output_config, make_charts_and_report, sweep_job_options
from analysis.kpis.stats import build_precision_config, ci_half_width, record_precision
from analysis.kpis.tickets import TICKET_KPIS
from analysis.rankings.weight_robustness import (build_weight_robustness_config, compare_weight_sets,
                                      format_weight_robustness, reference_name, warn_if_feedback,
                                      write_weight_robustness)
from analysis.rundir import already_done, config_fingerprint, mark_done
from analysis.rankings.street_state import accountability_summary, write_street_state
from analysis.summary import format_league, format_table, summarise, write_outputs
from sim.budget import check_fits
from sim.compose import force_add_distributions, replace_whole_distributions
from sim.group_overrides import check_group_values
from sim.config import build_config
from sim.config_files import check_config_dirs, check_group_choices
from sim.errors import ConfigError
from sim.hydra_errors import COMPOSITION_ERRORS, as_config_error, resolve
from sim.experiment import ExecutorConfig, all_cores, build_executor_config, run_experiment, run_until_precise
from sim.names import register_resolvers

#: The run's own log lines (``__name__`` is "__main__" under ``python run.py``). Hydra
#: sends logging to the console and to the run directory's run.log.
log = logging.getLogger("run")
#: The primary config folder (``config_path`` of ``main``): the checkout's conf/, or the
#: installed package's copy (hotline_sim.paths), so that ``hotline-sim`` works anywhere.
CONF_DIR = hotline_sim.CONF_DIR
#: Exit status of a run stopped by Ctrl-C (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED = 130
#: The run directory of the run in progress (for the one line Ctrl-C prints).
_out_dir: Path | None = None

register_resolvers()  # conf/config.yaml's folder names (sim.names): resolved by Hydra before main runs


class _InfoToRunLogOnly(logging.Filter):
    """The INFO lines of the run and of the backlog check repeat on the console what the
    run prints (its header, its outputs line): they go to run.log only. Warnings go to
    both."""

    NAMES = ("run", "analysis.kpis.stationarity", "analysis.run_outputs", "analysis.chart_helpers")

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name not in self.NAMES


def keep_info_in_run_log() -> None:
    """Add :class:`_InfoToRunLogOnly` to the console handlers Hydra configured."""
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.FileHandler):
            handler.addFilter(_InfoToRunLogOnly())


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    keep_info_in_run_log()
    scenario = hydra_cfg.runtime.choices.get("scenario", "custom")
    try:
        resolve(cfg)  # an interpolation that fails is a one-line error before anything reads the config
    except ConfigError as err:
        refuse(err, hydra_cfg)
    # a distribution given whole (command line or a later file) replaces the old one;
    # the run directory's copy of the config (Hydra wrote it already) then says so too
    if replace_whole_distributions(cfg, hydra_cfg.job.config_name, list(hydra_cfg.overrides.task)):
        saved = Path(hydra_cfg.runtime.output_dir) / str(hydra_cfg.output_subdir) / "config.yaml"
        if hydra_cfg.output_subdir is not None and saved.is_file():
            OmegaConf.save(cfg, saved)
    try:
        raw = resolve(cfg)
        sim_cfg = build_config({**raw, "scenario": scenario})
        rank_cfg = build_ranking_config(raw.get("ranking")) if sim_cfg.tickets else None
        executor = build_executor_config(raw.get("executor"))
        precision = build_precision_config(raw.get("precision"), CALL_KPIS + (TICKET_KPIS if sim_cfg.tickets else ()),
                                           sim_cfg.replications)
        outputs = build_output_config(*output_options(raw, hydra_cfg))
        records = check_records_format(raw.get("records", "none"))
        build_comparison_config(raw.get("comparison"))  # checked here; policy_comparison reads it
        weight_sets = build_weight_robustness_config(raw.get("weight_robustness"))  # experiment=weight_robustness
        if weight_sets is not None and rank_cfg is None:
            raise ConfigError("weight_robustness", "(weight sets)", "a run with tickets (not dispatch=none): a "
                              "call-centre-only run has no league table to rank again")
        # a run that cannot fit in memory is refused now, not by MemoryError after minutes
        check_fits(sim_cfg, executor, rank_cfg, precision.max_replications if precision else None,
                   raw.get("max_memory_gb"))
    except ConfigError as err:
        refuse(err, hydra_cfg)
    if sim_cfg.tickets is None:  # the charts are drawn from the ticket side's tables
        outputs = OutputConfig(charts=(), report=outputs.report)

    global _out_dir
    out_dir = _out_dir = Path(hydra_cfg.runtime.output_dir)
    fingerprint = config_fingerprint(raw)
    if already_done(out_dir, fingerprint):
        print(f"already done (same config): {out_dir}")
        log.info("already done (same config): %s", out_dir)
        # charts and report are not part of the fingerprint: make those asked for and missing
        make_charts_and_report(out_dir, outputs, chart_workers(executor), missing_only=True)
        return
    started = time.perf_counter()
    log.info("run started: scenario %s, %d replication(s) x %g days (%g warm-up) from %s, seed %d, executor %s; "
             "outputs in %s", scenario, sim_cfg.replications, sim_cfg.horizon_days, sim_cfg.warmup_days,
             sim_cfg.start.isoformat(), sim_cfg.seed, executor.kind, out_dir)

    progress = RunProgress(sim_cfg.start, sim_cfg.horizon_days, sim_cfg.replications)

    reduce = partial(reduce_replication, cfg=sim_cfg)
    if records == "parquet":  # each worker writes its replication's records, then reduces
        reduce = SaveRecordsThenReduce(reduce, out_dir, sim_cfg)
    try:
        if precision is None:
            per_rep = run_experiment(sim_cfg, reduce, on_done=progress.on_done, executor=executor,
                                     on_days=progress.on_days)
        else:
            per_rep = run_until_precise(sim_cfg, reduce, partial(ci_half_width, metric=precision.metric),
                                        precision.half_width, precision.max_replications, progress.on_done,
                                        executor, progress.on_days)
    except OSError as err:  # e.g. a dask scheduler that cannot be reached
        print(f"executor error ({executor.kind}): {err}".splitlines()[0], file=sys.stderr)
        sys.exit(3)
    finally:
        progress.close()
    log.info("stage simulate: %.1f s (%d replication(s), executor %s)", time.perf_counter() - started, len(per_rep),
             executor.kind)
    stage = time.perf_counter()
    meta = {
        "description": cfg.get("description", ""),
        "seed": sim_cfg.seed,
        "dispatch": sim_cfg.tickets.dispatch.policy if sim_cfg.tickets else None,
        "ranking": hydra_cfg.runtime.choices.get("ranking") if sim_cfg.tickets else None,
        "accountability": hydra_cfg.runtime.choices.get("accountability") if sim_cfg.tickets else None,
        "start": sim_cfg.start.isoformat(),
        "horizon_days": sim_cfg.horizon_days,
        "warmup_days": sim_cfg.warmup_days,
        "measured_days": sim_cfg.horizon_days - sim_cfg.warmup_days,
        "wall_time_s": round(time.perf_counter() - started, 3),
        "config_fingerprint": fingerprint,
    }
    # the chart helpers start now: their start-up (matplotlib, fonts) runs beside the
    # single-threaded tables on the idle core; stopped when the block ends, however it ends
    with chart_helpers(outputs.charts, chart_workers(executor)) as helpers:
        summary = summarise(scenario, meta, per_rep)
        record_precision(summary, per_rep, precision)  # summary.json's precision block; a WARNING if missed
        urgency = [u.name for u in sim_cfg.tickets.streets.urgency] if sim_cfg.tickets else None
        basic_weight = sim_cfg.tickets.survey.basic_satisfied_weight if sim_cfg.tickets else 1.0
        if rank_cfg is not None:
            summary["accountability"] = accountability_summary(per_rep, sim_cfg.city, rank_cfg,
                                                               sim_cfg.accountability.mode)
        if weight_sets is not None:  # one simulation, its league tables ranked under every weight set
            warn_if_feedback(sim_cfg.accountability.mode)
            weight_rows, summary["weight_robustness"] = compare_weight_sets(
                per_rep, sim_cfg.city, rank_cfg, weight_sets, reference_name(weight_sets, rank_cfg, meta["ranking"]),
                sim_cfg.accountability.mode)
        write_outputs(out_dir, summary, per_rep, sim_cfg.city, rank_cfg, urgency, basic_weight)
        if weight_sets is not None:
            write_weight_robustness(out_dir, weight_rows)
        if sim_cfg.tickets is not None:
            write_street_state(out_dir, per_rep, sim_cfg.city, sim_cfg.seed,
                               sim_cfg.tickets.streets.resolution.quality_sd_logit)
        log.info("stage tables: %.1f s (summary.json and the CSV tables)", time.perf_counter() - stage)
        print(format_table(summary))
        if rank_cfg is not None:
            print("\n" + format_league(out_dir, sim_cfg.city))
        if weight_sets is not None:
            print("\n" + format_weight_robustness(summary["weight_robustness"]))
        if outputs.charts or outputs.report:
            print(f"\n  drawing {len(outputs.charts)} chart(s){' and the report' if outputs.report else ''} ...",
                  file=sys.stderr, flush=True)
        make_charts_and_report(out_dir, outputs, chart_workers(executor), helpers=helpers)
    mark_done(out_dir, fingerprint)
    log.info("run finished in %.1f s: %d replication(s), outputs in %s", time.perf_counter() - started, len(per_rep),
             out_dir)
    print(f"\noutputs: {out_dir}")


def refuse(err: ConfigError, hydra_cfg) -> None:
    """Print the one-line config error, remove the run directory Hydra created for this
    refused run (only if this run created it and it holds only Hydra's files:
    analysis.created_dirs) and exit 2."""
    print(err, file=sys.stderr)
    remove_if_new(Path(hydra_cfg.runtime.output_dir))
    sys.exit(2)


def config_dirs(args: list[str]) -> list[Path]:
    """The config folders Hydra will read: conf/ and any ``--config-dir``/``-cd``."""
    dirs = [CONF_DIR]
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in ("--config-dir", "-cd"):
            value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
            if value:
                dirs.append(Path(value))
    return dirs


def output_options(raw: dict, hydra_cfg) -> tuple:
    """The ``charts`` and ``report`` values: as composed, except in a job of a sweep
    (``-m``), where both are off unless given on the command line (the sweep makes its
    own charts and report once, at its end: analysis.sweep.AggregateSweep)."""
    charts, report = raw.get("charts", "all"), raw.get("report", True)
    if hydra_cfg.mode == RunMode.MULTIRUN:
        overridden = {str(o).split("=", 1)[0].lstrip("+~") for o in hydra_cfg.overrides.task}
        charts, report = sweep_job_options(charts, report, overridden)
    return charts, report


def chart_workers(executor: ExecutorConfig) -> int:
    """Processes that draw the charts: one (this one) with the serial executor, else the
    local pool's size or every core, at most the cores there are."""
    if executor.kind == "serial":
        return 1
    return min((executor.workers if executor.kind == "local" else 0) or all_cores(), all_cores())


def refuse_weight_robustness_sweep(args: list[str]) -> str | None:
    """``-m experiment=weight_robustness`` with nothing else to sweep: one line saying it
    is one run now (it was a sweep over ``ranking`` that simulated the same model four
    times); None when the command is fine (no ``-m``, or other keys swept with it)."""
    if not {"-m", "--multirun"} & set(args) or "experiment=weight_robustness" not in args:
        return None
    swept = [a for a in args if "=" in a and not a.startswith("experiment=")
             and "," in a.split("=", 1)[1] and a.split("=", 1)[1][:1] not in "[{"]
    if swept:
        return None
    return ("experiment=weight_robustness is one run, not a sweep: it simulates once and ranks the league tables "
            "under every weight set; run it without -m: python run.py experiment=weight_robustness")


def cli() -> None:
    """``main`` with Hydra's and OmegaConf's errors (a key that does not exist, a config
    group option that does not, a scenario file that is not YAML, an interpolation that
    fails) as the one-line config error, exit 2. Hydra re-raises them under
    ``HYDRA_FULL_ERROR`` instead of printing them in several lines."""
    args = sys.argv[1:]
    refused = refuse_weight_robustness_sweep(args)
    if refused:
        print(refused, file=sys.stderr)
        sys.exit(2)
    # a distribution given whole may bring keys the old one lacks (sim.compose)
    sys.argv[1:] = force_add_distributions(args)
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        dirs = config_dirs(args)
        check_config_dirs(dirs, CONF_DIR / "config.yaml")  # scenario files are data (sim.config_files)
        check_group_choices(args, dirs)  # scenario=../x: a name, not a path
        check_group_values(args, CONF_DIR)  # ranking=-1: one line, not Hydra's ValueError
        main()
    except (ConfigError, *COMPOSITION_ERRORS) as err:
        print(as_config_error(err, args, CONF_DIR), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback; the pool's workers are gone (sim.experiment)
        where = f" in {_out_dir}" if _out_dir is not None else ""
        print(f"interrupted (Ctrl-C): the run{where} is incomplete (no run_complete.json; sweep tables leave it "
              "out); the same command runs it again", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    cli()
