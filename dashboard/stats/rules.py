"""Names of the u-chart's special-cause rules and their precedence (``spc.ORDER``).

Plain strings apart from ``spc`` so that ``analysis.methods``, and through it every
command line parser, can name the rules without importing numpy and pandas.
"""

from __future__ import annotations

RULE_BEYOND = "beyond 3-sigma limit"
RULE_RUN_ABOVE = "run of 7 above centre"
RULE_RUN_BELOW = "run of 7 below centre"
RULE_TREND_UP = "trend of 7 rising"
RULE_TREND_DOWN = "trend of 7 falling"
RULE_TWO_OF_THREE = "2 of 3 beyond 2-sigma"

ORDER = (RULE_BEYOND, RULE_TREND_UP, RULE_TREND_DOWN, RULE_TWO_OF_THREE)
ORDER += (RULE_RUN_ABOVE, RULE_RUN_BELOW)
