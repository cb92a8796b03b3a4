"""The plan of ``genreg reproduce``: registered sections resolved for one budget.

A section (registry kind ``section``, hook ``genreg_register_sections``) is data::

    {"title": "Mode collapse on ring8",          # heading of the report section
     "order": 30,                                # sections are sorted by it (default 100)
     "intro": "Markdown paragraph.",             # optional
     "requires": {"model": ["mae1d"]},           # optional: skipped (and listed so) when missing
     "runs": {                                   # the trainings, by id
         "gan": {"model": "gan", "preset": "gan-ring8",       # preset optional
                 "overrides": {"train.seed": 0},               # every budget (optional)
                 "budgets": {"quick": {"train.max_minutes": 1}, "standard": {}, "full": {}}}},
     "evals": {                                  # optional: default one eval per run, id = run id
         "gan": {"run": "gan", "n": 2000, "data": {"snr": [2, 3]},
                 "budgets": {"smoke": {"n": 64}}}},
     "tables": [{"title": "...", "note": "...",
                 "columns": [{"header": "modes", "key": ["modes_covered", "num_modes"], "format": "{}/{}"},
                             {"header": "high quality", "key": "high_quality", "format": "pct"},
                             {"header": "study", "value": "study"}],   # a row's own value
                 "rows": [{"label": "basic GAN", "eval": "gan", "values": {"study": "69 %"},
                           "targets": [{"key": "modes_covered", "op": "<=", "value": 5,
                                        "text": "collapse: <= 5/8 modes"},
                                       {"key": "accuracy", "minus": "accuracy_classical", "op": ">=",
                                        "value": 0.2},      # also "ratio_to": KEY
                                       ]}]}],
     "figures": [{"eval": "gan", "figure": "samples", "caption": "..."}]}

Budgets: ``quick``, ``standard`` and ``full`` are the user's; ``smoke`` is a tiny one for
tests (a run without a ``smoke`` entry gets :data:`SMOKE_FALLBACK`). A run's overrides
for a budget are ``overrides`` then the budget's defaults (:data:`BUDGET_DEFAULTS`:
the device) then ``budgets[budget]``. Everything resolves through the same config code
as ``genreg train``, so a bad key fails when the plan is made, before anything trains.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

from ..errors import EntryError, UsageError

BUDGETS = ("quick", "standard", "full")
HIDDEN_BUDGETS = ("smoke",)
BUDGET_DEFAULTS = {"smoke": {"train.device": "cpu"}, "quick": {"train.device": "cpu"},
                   "standard": {"train.device": "cpu"}, "full": {"train.device": "auto"}}
SMOKE_FALLBACK = {"train.steps": 10, "train.max_minutes": 0.5}
BUDGET_TEXT = {
    "smoke": "smoke (a few steps per run, for tests: the numbers mean nothing)",
    "quick": "quick (every run shorter than its recipe's target budget, to finish in about 20 CPU-minutes: "
             "the numbers are NOT the recipes' results; see each run's command for its limits)",
    "standard": "standard (every recipe at its target budget on CPU)",
    "full": "full (GPU settings: bigger images, longer runs)",
}
_SECTION_KEYS = {"title", "order", "intro", "requires", "runs", "evals", "tables", "figures"}
_OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        "<": lambda a, b: a < b, "==": lambda a, b: a == b}


@dataclass
class PlannedRun:
    """One training: what ``genreg train`` gets, and where it goes."""

    section: str
    id: str
    model: str
    preset: Optional[str]
    overrides: list[str]  # KEY=VALUE strings, exactly as on the command line
    run_dir: Path
    steps: int  # train.steps of the resolved config
    device: str

    @property
    def command(self) -> str:
        preset = f" --preset {self.preset}" if self.preset else ""
        return " ".join([f"genreg train {self.model}{preset}", *map(_quote, self.overrides),
                         f"--out {_quote(str(self.run_dir))}"])

    @property
    def key(self) -> str:
        """Changes whenever the training would differ: a finished run is reused only if it matches."""
        return _digest({"model": self.model, "preset": self.preset, "overrides": self.overrides})


@dataclass
class PlannedEval:
    section: str
    id: str
    run: PlannedRun
    n: Optional[int]
    data: list[str]  # KEY=VALUE data overrides
    out: Path

    @property
    def command(self) -> str:
        parts = [f"genreg eval {_quote(str(self.run.run_dir))}", f"--out {_quote(str(self.out))}"]
        if self.n is not None:
            parts.append(f"--n {self.n}")
        parts += [f"--data {_quote(item)}" for item in self.data]
        return " ".join(parts)

    @property
    def key(self) -> str:
        return _digest({"run": self.run.key, "n": self.n, "data": self.data})


@dataclass
class PlannedSection:
    name: str
    spec: dict
    runs: list[PlannedRun] = field(default_factory=list)
    evals: dict[str, PlannedEval] = field(default_factory=dict)
    skipped: str = ""  # why the section is not run (a required model is not registered)


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def format_value(value: Any) -> str:
    """A Python value in the ``key=value`` grammar of the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(format_value(v) for v in value)
    return str(value)


def as_assignments(overrides: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``{"a.b": 1, "c": {"d": [1, 2]}}`` -> ``["a.b=1", "c.d=1,2"]`` (tables become dotted keys)."""
    out = []
    for key, value in overrides.items():
        if isinstance(value, Mapping):
            out += as_assignments(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}={format_value(value)}")
    return out


def check_budget(budget: str) -> str:
    if budget not in BUDGETS + HIDDEN_BUDGETS:
        raise UsageError(f"unknown budget {budget!r}; budgets are: {', '.join(BUDGETS)}")
    return budget


def section_spec(entry) -> dict:
    """The checked dict of a section entry (raises EntryError naming the entry)."""
    spec = entry.create()
    if not isinstance(spec, Mapping):
        raise EntryError(f"{entry.origin} returned {type(spec).__name__}, expected a dict")
    unknown = set(spec) - _SECTION_KEYS
    if unknown:
        raise EntryError(f"{entry.origin}: unknown key(s) {', '.join(sorted(unknown))}; "
                         f"allowed: {', '.join(sorted(_SECTION_KEYS))}")
    if not isinstance(spec.get("runs"), Mapping) or not spec["runs"]:
        raise EntryError(f"{entry.origin}: 'runs' must be a non-empty table of trainings")
    for run_id, run in spec["runs"].items():
        if not isinstance(run, Mapping) or not isinstance(run.get("model"), str):
            raise EntryError(f"{entry.origin}: run {run_id!r} needs a 'model' name")
    evals = spec.get("evals") or {rid: {"run": rid} for rid in spec["runs"]}
    for eval_id, ev in evals.items():
        if not isinstance(ev, Mapping) or ev.get("run") not in spec["runs"]:
            raise EntryError(f"{entry.origin}: eval {eval_id!r} names no run of this section")
    for table in spec.get("tables", ()):
        for row in table.get("rows", ()):
            if row.get("eval") not in evals:
                raise EntryError(f"{entry.origin}: table row {row.get('label')!r} names unknown eval {row.get('eval')!r}")
            for target in row.get("targets", ()):
                if target.get("op") not in _OPS:
                    raise EntryError(f"{entry.origin}: target op {target.get('op')!r} is not one of {', '.join(_OPS)}")
    for fig in spec.get("figures", ()):
        if fig.get("eval") not in evals:
            raise EntryError(f"{entry.origin}: figure {fig.get('figure')!r} names unknown eval {fig.get('eval')!r}")
    return {**spec, "evals": evals}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def target_value(target: Mapping, lookup) -> Optional[float]:
    """The number a target judges: ``key``, less ``minus`` or over ``ratio_to`` when given
    (``lookup(key)`` reads eval.json); None when a part is missing."""
    value = lookup(target["key"])
    for name, combine in (("minus", lambda a, b: a - b), ("ratio_to", lambda a, b: a / b if b else None)):
        if name in target and _number(value):
            other = lookup(target[name])
            value = combine(value, other) if _number(other) else None
    return value if _number(value) else None


def target_met(target: Mapping, value: Any) -> Optional[bool]:
    """Whether ``value`` meets ``target`` (None when there is no number to judge)."""
    if not _number(value):
        return None
    return bool(_OPS[target["op"]](value, target["value"]))


def _missing_models(spec: Mapping) -> list[str]:
    from .. import get_registry

    registry = get_registry()
    wanted = list((spec.get("requires") or {}).get("model", []))
    return [m for m in wanted if ("model", m) not in registry]


def make_plan(budget: str, out: Path, only: Optional[list[str]] = None) -> list[PlannedSection]:
    """Every registered section (or those in ``only``) resolved for ``budget``; runs go
    under ``out/runs/SECTION/RUN``. Raises UsageError for an unknown budget or section and
    for any override the config rejects."""
    from .. import get_registry, list_entries
    from ..training.loop import resolve_run

    check_budget(budget)
    entries = sorted(list_entries(kind="section"), key=lambda e: e.name)
    if only:
        registry = get_registry()
        for name in only:
            registry.get("section", name)  # unknown: a one-line error with close matches
        entries = [e for e in entries if e.name in only]
    sections = []
    for entry in entries:
        spec = section_spec(entry)
        section = PlannedSection(entry.name, spec)
        missing = _missing_models(spec)
        if missing:
            section.skipped = f"model(s) {', '.join(missing)} not registered"
            sections.append(section)
            continue
        runs = {}
        for run_id, run in spec["runs"].items():
            layers = {**run.get("overrides", {}), **BUDGET_DEFAULTS[budget]}
            per_budget = run.get("budgets", {})
            if budget in per_budget:
                layers.update(per_budget[budget])
            elif budget == "smoke":
                layers.update(SMOKE_FALLBACK)
            elif budget in BUDGETS:
                raise EntryError(f"{entry.origin}: run {run_id!r} declares no {budget!r} budget")
            overrides = as_assignments(layers)
            cfg, _ = resolve_run(run["model"], overrides=overrides, preset=run.get("preset"))
            runs[run_id] = PlannedRun(entry.name, run_id, run["model"], run.get("preset"), overrides,
                                      out / "runs" / entry.name / run_id, cfg.train.steps, cfg.train.device)
        section.runs = list(runs.values())
        for eval_id, ev in spec["evals"].items():
            opts = {**ev, **ev.get("budgets", {}).get(budget, {})}
            run = runs[ev["run"]]
            where = run.run_dir / ("eval" if eval_id == run.id else f"eval-{eval_id}")
            n = opts.get("n")
            if n is not None and (not isinstance(n, int) or n < 1):
                raise EntryError(f"{entry.origin}: eval {eval_id!r}: n must be a positive integer, got {n!r}")
            section.evals[eval_id] = PlannedEval(entry.name, eval_id, run, n,
                                                 as_assignments(opts.get("data", {})), where)
        sections.append(section)
    return sorted(sections, key=lambda s: (s.spec.get("order", 100), s.name))
