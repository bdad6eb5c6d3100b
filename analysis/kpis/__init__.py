"""KPIs and statistics: each replication reduced to its KPIs where it ran (``calls``,
``tickets``: city-wide, per hour, per street-month), means and confidence intervals over
replications (``stats``), the practical threshold of a comparison (``practical``), the
window's stationarity (``stationarity``) and the city's monthly series
(``city_monthly``). Light to import: nothing here loads the model or matplotlib."""
