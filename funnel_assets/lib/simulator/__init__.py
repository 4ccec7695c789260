"""Simulated landing data for the developer-onboarding funnel, with the planted truth.

`generate` writes the landing files; `draw_developers` and `summarize` are
the stage model and its statistics, usable without writing anything.
"""

from .generate import generate
from .model import draw_developers
from .parameters import DEFAULT_PARAMETERS, Parameters
from .summary import summarize

__all__ = ["DEFAULT_PARAMETERS", "Parameters", "draw_developers", "generate", "summarize"]
