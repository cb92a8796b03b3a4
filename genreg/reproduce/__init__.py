"""``genreg reproduce``: rerun the reference study end to end and write a report.

It composes existing pieces only: the registered sections (:mod:`genreg.reproduce.plan`,
data declaring runs, evaluations, tables and figures), ``genreg.train`` and
``genreg.eval`` (:mod:`genreg.reproduce.runner`, which also reuses finished runs and
resumes killed ones) and a report writer reading eval.json files and figure paths
(:mod:`genreg.reproduce.report`). No model-specific code lives here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from .plan import BUDGETS, make_plan
from .report import write_report
from .runner import Interrupted, execute

__all__ = ["BUDGETS", "make_plan", "reproduce", "Interrupted"]


def reproduce(budget: str = "quick", out="reproduce", only: Optional[list[str]] = None,
              log: Callable[[str], None] = print) -> Path:
    """Plan, run (reusing finished runs) and report; returns the path of report.md.

    Raises UsageError for an unknown budget or section or a bad override, Interrupted
    when a training is stopped by SIGINT/SIGTERM (rerun to continue)."""
    out = Path(out)
    sections = make_plan(budget, out, only)
    try:
        execute(sections, log)
    finally:
        report = write_report(sections, out, budget)  # partial results are worth a report too
    return report
