"""The report's words: file names, which KPIs it shows and how they are labelled,
class and rate names, the sources of ranking uncertainty, chart headings and captions,
the groups of the assumptions table. Data only (no HTML): the templates lay them out."""
from __future__ import annotations

from analysis.catalogue import CALL, KPIS, TICKET
from sim.ranking import CLASS_ZH  # noqa: F401 (re-exported)
# The file names the report reads, and the package's name (re-exported).
from analysis.rundir import (CAPTIONS_FILE, CHARTS_DIR, PACKAGE, RANKINGS_FILE, REPORT_FILE,  # noqa: F401
                             SUMMARY_FILE, SWEEP_FILE)
#: Streets shown at the top and at the bottom of the league table.
LEAGUE_SHOW = 10
#: Jobs side by side in one table of the sweep report (more: another table below).
SWEEP_JOBS_PER_TABLE = 6

# ------------------------------------------------------------------ KPI display
#: The report's KPI tables, from the KPI catalogue (analysis/catalogue.py):
#: (name, English, Chinese, unit, number format, scale, meaning).
KPI_ROWS = {group: tuple((name, k.en, k.zh, k.unit, k.fmt, k.scale, k.meaning) for name, k in KPIS.items()
                         if k.group == group and k.in_report) for group in (CALL, TICKET)}
CALL_ROWS, TICKET_ROWS = KPI_ROWS[CALL], KPI_ROWS[TICKET]
#: KPI cards at the top of a run report.
CARDS = ("calls_offered_per_day", "service_level", "abandonment_rate", "response_rate", "resolution_rate",
         "satisfaction_rate")
#: KPIs of the sweep table (those present).
SWEEP_KPIS = ("calls_offered_per_day", "service_level", "abandonment_rate", "asa_s", "agent_occupancy",
              "dispatch_delay_mean_h", "deadline_compliance", "response_rate", "resolution_rate",
              "satisfaction_rate")
#: Every catalogue KPI (a sweep chart or a comparison may show any of them).
KPI_INFO = {name: (name, k.en, k.zh, k.unit, k.fmt, k.scale, k.meaning) for name, k in KPIS.items()}

# ------------------------------------------------------------------ league table and robustness
RATE_LABELS = {"response_rate": ("Response", "响应率"), "resolution_rate": ("Resolution", "解决率"),
               "satisfaction_rate": ("Satisfaction", "满意率"),
               "response": ("Response", "响应率"), "resolution": ("Resolution", "解决率"),
               "satisfaction": ("Satisfaction", "满意率")}
#: The three rates of the league table, in the order of its columns.
RATE_COLUMNS = ("response_rate", "resolution_rate", "satisfaction_rate")
ROBUSTNESS_SOURCES = {
    "weights_dirichlet": "Weights near the nominal ones (Dirichlet draws)",
    "weights_simplex": "Any weights at all (uniform over all weight sets)",
    "sampling": "Survey sampling noise (bootstrap of the callbacks)",
    "replications": "Simulation noise (the same month in other replications)",
}

# ------------------------------------------------------------------ charts
#: Chart captions by keyword in the file name (first match), when the chart does not carry its own.
CHART_KEYWORDS = (
    ("funnel", "Funnel plot: only streets outside the control limits differ from the city rate by more than "
               "chance allows."),
    ("robust", "How firm the league table is: rank intervals under other weights, survey noise and "
               "simulation noise."),
    ("effective", "Effective weights: how much each rate really moves the composite score, against its "
                  "nominal weight."),
    ("weight", "The league table under other ranking weights."),
    ("league", "The street league table of the focal month (the scenario's focal_month, else the last "
                "month ranked in full): composite score and classes."),
    ("rank", "Street ranks and their uncertainty."),
    ("hour", "The day hour by hour: calls, waiting and agents on duty (bands = 95% CI)."),
    ("intraday", "The day hour by hour: calls, waiting and agents on duty (bands = 95% CI)."),
    ("lead", "How long tickets take to close, by urgency class, against their time limits."),
    ("deadline", "Deadline compliance with its 95% CI."),
    ("district", "The districts side by side."),
    ("rate", "The three rates (响应率, 解决率, 满意率) with 95% CIs."),
    ("kpi", "Headline KPIs with 95% CIs."),
    ("service", "Service level and waiting at the call centre."),
    ("seat", "The call centre's KPIs against the number of seats."),
    ("dispatch", "Dispatch policies compared."),
    ("sweep", "The KPIs across the jobs of the sweep (bars = 95% CI)."),
)
#: The caption of a chart no keyword matches.
CHART_DEFAULT_CAPTION = "Chart from the simulation outputs (see the chart's own title and source note)."
#: Short headings of the known charts (analysis.charts); the chart's own title states the finding.
CHART_HEADINGS = {
    "calls_by_hour": "Calls and service level by hour of day 分时段来电与服务水平",
    "lead_time_distribution": "Time to close a ticket, by urgency class 工单办结时长",
    "lead_time_by_policy": "Time to close a ticket under each dispatch policy 派单方式与办结时长",
    "deadline_compliance_by_district": "Deadline compliance by district 各区按时办结率",
    "league_bump": "Monthly ranks of the best and worst streets 街乡月度排名",
    "rank_caterpillar": "How certain is each street's rank? 排名区间",
    "rank_caterpillar_all_sources": "Rank intervals by source of uncertainty 各不确定性来源的排名区间",
    "weight_sensitivity": "Streets whose class depends on the weights 权重与四类",
    "funnel_plot": "Funnel plot: which streets differ from the city? 漏斗图",
    "policy_comparison": "Policy comparison: paired differences 政策比较",
    "city_trajectory": "The year month by month against the published 2019 figures 全年走势与公布值",
    "measured_vs_true": "Measured and true resolution, and gaming 回访解决率与实际解决率",
    "street_spread": "The spread of streets and the consequences of the league table 街乡得分分布与排名后果",
    "weight_class_changes": "Which streets change class under other weights 权重与类别变化",
    "staffing_curve": "Seats, staffing and service level 座席与服务水平",
}

# ------------------------------------------------------------------ assumptions
#: Order and headings of the assumption table's groups, by file path prefix.
FILE_GROUPS = (("conf/scenario/", "The scenario"), ("scenarios/", "Named data files of the scenario"),
               ("conf/tickets/", "After the call: city, streets, departments, survey"),
               ("conf/dispatch/", "Dispatch policy"), ("conf/ranking/", "League table"),
               ("conf/experiment/", "Experiment"), ("conf/config.yaml", "Run settings"))

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")
