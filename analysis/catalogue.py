"""The KPI catalogue: every KPI a run reports, with its English and Chinese label,
unit, scale, number format, direction and meaning, in one table.

The CLI table, the charts, the report and the README's KPI table read it; a test fails
when ``summary.json`` holds a KPI that is not here, or the README's table and this one
disagree. A new KPI is one entry here (and its computation in ``analysis/kpis/calls.py`` or
``analysis/kpis/tickets.py``).

Meanings may hold placeholders the report fills from the run's config: ``{sl}`` (the
service-level threshold, s), ``{rt}`` (the response threshold, h), ``{bw}`` (the weight
of "basically satisfied").
"""
from __future__ import annotations

from dataclasses import dataclass

CALL, TICKET = "call", "ticket"


@dataclass(frozen=True)
class Kpi:
    en: str
    zh: str
    unit: str  # "%" for shares (stored as 0-1, shown x100), else the unit of the stored value
    fmt: str  # number format of the shown value
    direction: int  # +1 higher is better, -1 lower is better, 0 neither
    meaning: str
    group: str  # CALL or TICKET
    in_report: bool = True  # a row of the report's KPI tables

    @property
    def scale(self) -> float:
        """Factor from the stored value to the shown one."""
        return 100.0 if self.unit == "%" else 1.0

    @property
    def is_share(self) -> bool:
        return self.unit == "%"

    def show(self, value: float) -> str:
        """The value as shown, with a percent sign for shares."""
        return self.fmt.format(value * self.scale) + ("%" if self.is_share else "")

    @property
    def cli_label(self) -> str:
        """``Service level 服务水平`` or ``Mean dispatch delay 平均派单时长, h``."""
        unit = f", {self.unit}" if self.unit in ("h", "s") else ""  # counts and shares say what they are
        return f"{self.en} {self.zh}{unit}"


def _k(en, zh, unit, fmt, direction, meaning, group, in_report=True) -> Kpi:
    return Kpi(en, zh, unit, fmt, direction, meaning, group, in_report)


#: name -> KPI, in the order the CLI and the report show them.
KPIS: dict[str, Kpi] = {
    "calls_offered": _k("Calls offered", "来电量", "calls", "{:,.0f}", 0,
                        "calls that arrived in the measured days (offered = answered + abandoned + waiting at end)",
                        CALL, False),
    "calls_offered_per_day": _k("Calls offered per day", "日均来电量", "calls/day", "{:,.0f}", 0,
                                "calls reaching the centre per measured day, redials included", CALL),
    "calls_answered": _k("Calls answered", "接通来电", "calls", "{:,.0f}", 1, "calls an agent answered", CALL, False),
    "calls_abandoned": _k("Calls abandoned", "放弃来电", "calls", "{:,.0f}", -1, "callers who hung up before an answer",
                          CALL, False),
    "calls_waiting_at_end": _k("Calls waiting at the end", "期末排队来电", "calls", "{:,.0f}", 0,
                               "callers still queued when the run stopped", CALL, False),
    "redials": _k("Redials", "重拨来电", "calls", "{:,.0f}", -1, "calls that were redials of an abandoned call", CALL),
    "abandonment_rate": _k("Abandonment rate", "放弃率", "%", "{:.2f}", -1, "abandoned / offered", CALL),
    "p_wait": _k("Callers who wait", "需排队比例", "%", "{:.1f}", -1, "share of offered calls that queued at all",
                 CALL),
    "service_level": _k("Service level", "服务水平", "%", "{:.1f}", 1,
                        "answered within {sl} s, of all calls offered (abandoners count as failures)", CALL),
    "asa_s": _k("Average speed of answer", "平均应答时间", "s", "{:.1f}", -1, "mean wait of answered calls", CALL),
    "mean_wait_s": _k("Mean wait, all callers", "平均等待时间", "s", "{:.1f}", -1,
                      "mean time in queue of all offered calls, an abandoning caller counted until it hangs up", CALL),
    "agent_occupancy": _k("Agent occupancy", "坐席占用率", "%", "{:.1f}", 0,
                          "busy agent-time / agent-time at the seats", CALL),
    "agents_on_duty_mean": _k("Agents on duty, mean", "平均在岗坐席", "agents", "{:,.1f}", 0,
                              "mean agents present over the day", CALL),
    "tickets_created": _k("Tickets created", "生成工单", "tickets", "{:,.0f}", 0,
                          "demands handed on as tickets (the call ended inside the measured days)", TICKET),
    "tickets_closed": _k("Tickets closed", "办结工单", "tickets", "{:,.0f}", 1,
                         "of the tickets created, closed by the end of the run", TICKET, False),
    "tickets_per_day": _k("Tickets closed per day", "日均办结工单", "tickets/day", "{:,.0f}", 1,
                          "throughput: tickets closed per measured day", TICKET),
    "tickets_open_at_end": _k("Tickets open at the end", "期末未办结工单", "tickets", "{:,.0f}", -1,
                              "of the tickets created, still in work when the run ends", TICKET),
    "dispatch_delay_mean_h": _k("Mean dispatch delay", "平均派单时长", "h", "{:.2f}", -1,
                                "creation to arrival at the unit that works it (dispatch work, district hop, returns)",
                                TICKET),
    "lead_time_mean_h": _k("Mean lead time to closure", "平均办理时长", "h", "{:.1f}", -1,
                           "creation to closure of closed tickets (tickets still open at the end are not in it)",
                           TICKET),
    "lead_time_p90_h": _k("Lead time to closure, 90th pct.", "办理时长P90", "h", "{:.1f}", -1,
                          "90th percentile of the same", TICKET),
    "deadline_compliance": _k("Deadline compliance", "按时办结率", "%", "{:.1f}", 1,
                              "closed within the time limit of its urgency class / tickets whose deadline fell "
                              "inside the run", TICKET),
    "returned_share": _k("Returned tickets", "退单率", "%", "{:.2f}", -1,
                         "tickets sent back (退单) by a wrong unit at least once", TICKET),
    "response_rate": _k("Response rate", "响应率", "%", "{:.1f}", 1,
                        "signed for (签收) within {rt} h of delivery, on streets.response_clock (duty hours by default)", TICKET),
    "survey_coverage": _k("Survey coverage", "回访覆盖率", "%", "{:.1f}", 1,
                          "callbacks made within their window, of those decided (made or missed)", TICKET),
    "resolution_rate": _k("Resolution rate", "解决率", "%", "{:.1f}", 1,
                          "solved, of callbacks (回访) that reached the citizen", TICKET),
    "satisfaction_rate": _k("Satisfaction rate", "满意率", "%", "{:.1f}", 1,
                            "satisfied + {bw} × basically satisfied (基本满意), of callbacks that reached the citizen",
                            TICKET),
    "repeat_calls": _k("Repeat calls", "重复来电", "calls", "{:,.0f}", -1,
                       "calls about a problem whose ticket closed unresolved", TICKET),
    "gaming_share": _k("Gaming share", "虚报解决占比", "%", "{:.1f}", -1,
                       "callbacks that heard \"solved\" about a problem not solved (a gamed ticket, under the "
                       "accountability loop), of callbacks that reached the citizen", TICKET),
}

#: The shares: their CIs are clipped to [0, 1].
SHARE_KPIS = frozenset(name for name, k in KPIS.items() if k.is_share)


#: What the README says for the placeholders of meanings (the report fills in values).
_README_PLACEHOLDERS = {"sl": "`call_center.sl_threshold_s`", "rt": "`streets.response_threshold_h`",
                        "bw": "`survey.basic_satisfied_weight`"}


def markdown_table() -> str:
    """The README's KPI table: one row per KPI, from this catalogue."""
    rows = ["| metric | name | unit | meaning |", "|---|---|---|---|"]
    for name, k in KPIS.items():
        unit = "share (0-1)" if k.is_share else k.unit
        rows.append(f"| `{name}` | {k.en} {k.zh} | {unit} | {k.meaning.format(**_README_PLACEHOLDERS)} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
