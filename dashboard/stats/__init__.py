"""Pure statistics on counts. Never imports streamlit; raises on impossible input."""

from .poisson import RateEstimate, exact_poisson_interval, poisson_rate

__all__ = ["RateEstimate", "exact_poisson_interval", "poisson_rate"]
