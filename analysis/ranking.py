"""The league-table core lives in :mod:`sim.ranking` (the accountability loop ranks the
streets inside a replication with the same code as the reported table); this name
stays for the code and users that import it from here."""
from sim.ranking import (CLASS_ZH, CLASSES, RATES, TIE_BREAK, WEIGHT_KEYS, RankingConfig,  # noqa: F401
                         RobustnessConfig, build_ranking_config, classes, composite, rank_matrix, rank_units,
                         tie_order)
