"""Statistics as pure functions: counts in, named results out (exact Poisson and
binomial intervals, rate ratios and Mantel-Haenszel, the rate model and its overdispersion
check, u-, g- and CUSUM charts, funnel limits, the spread between practitioners), each
tested against published values. No database, no streamlit, no plotting: it imports
numpy, scipy, pandas and statsmodels and nothing else of NeedleWatch, so it and the store
are independent of each other and every layer above may use both. The names below load
on first use (PEP 562), so a light module of the package (``rules``) imports no scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .poisson import RateEstimate, exact_poisson_interval, poisson_rate

__all__ = ["RateEstimate", "exact_poisson_interval", "poisson_rate"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from . import poisson

        return getattr(poisson, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
