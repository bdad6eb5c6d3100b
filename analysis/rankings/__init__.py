"""League tables and how far to trust them: the monthly tables of a run (``league``),
rank distributions under their sources of uncertainty (``robustness``), funnel plots
(``funnel``), how much of a score is the street (``street_signal``), one simulation
re-ranked under other weights (``weight_robustness``) and what the accountability loop
did street by street (``street_state``). The ranking core itself is :mod:`sim.ranking`
(the loop ranks inside a replication with the same code)."""
