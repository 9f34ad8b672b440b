"""NeedleWatch: adverse-event surveillance for dry needling."""

__version__ = "0.1.0"
