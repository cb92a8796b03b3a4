"""The report of ``genreg reproduce``: Markdown built from the plan (section data), the
runs' ``reproduce.json`` records and their ``eval.json`` files and figure paths only.

Every table row names its run (a footnote with the exact ``genreg train`` and ``genreg
eval`` commands, the machine and the seconds spent) and states each of its targets as met
or not met next to the number; a value an evaluation did not produce reads ``n/a``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Optional

from .plan import BUDGET_TEXT, PlannedSection, target_met, target_value
from .runner import RECORD, read_json


def lookup(metrics: Optional[dict], key: str) -> Any:
    """``metrics["a"]["b"]`` for ``key = "a.b"``; None when any part is missing."""
    node: Any = metrics
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _format(fmt: str, values: list) -> str:
    if any(v is None for v in values):
        return "n/a"
    if fmt == "pct" and len(values) == 1 and isinstance(values[0], (int, float)):
        return f"{100 * values[0]:.1f} %"
    try:
        return fmt.format(*values)
    except (ValueError, TypeError, IndexError):
        return " / ".join(str(v) for v in values)


def _cell(column: dict, row: dict, metrics: Optional[dict]) -> str:
    if "value" in column:
        return str(row.get("values", {}).get(column["value"], ""))
    keys = column["key"] if isinstance(column["key"], list) else [column["key"]]
    values = [lookup(metrics, k) for k in keys]
    return _format(column.get("format", " / ".join(["{}"] * len(keys))), values)


def _target_text(row: dict, metrics: Optional[dict]) -> str:
    parts = []
    for target in row.get("targets", ()):
        value = target_value(target, lambda key: lookup(metrics, key))
        met = target_met(target, value)
        verdict = "no result" if met is None else ("**met**" if met else "**not met**")
        if met is not None and ("minus" in target or "ratio_to" in target):
            verdict += f" ({value:.3g})"  # the derived number is in no column
        parts.append(f"{target.get('text') or target['key'] + ' ' + target['op'] + ' ' + str(target['value'])}: "
                     f"{verdict}")
    return "; ".join(parts) or "-"


def _seconds(value: Optional[float]) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def _machine_text(m: Optional[dict]) -> str:
    if not m:
        return "unknown machine"
    return f"{m.get('cpu')}, {m.get('cores')} cores ({m.get('torch_threads')} torch threads), torch {m.get('torch')}, " \
           f"{m.get('device')}"


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def write_report(sections: list[PlannedSection], out: Path, budget: str) -> Path:
    """Write ``out/report.md``; returns its path."""
    out = Path(out)
    lines = ["# genreg reproduce: the reference study", "",
             f"Budget: {BUDGET_TEXT[budget]}.", "",
             f"Written {time.strftime('%Y-%m-%d %H:%M:%S %Z')}. Every row names the commands that reproduce it "
             "(notes below each table), the machine and the time taken. Targets are those of issue #14 and "
             "are stated as met or not met as measured here.", ""]
    skipped = [s for s in sections if s.skipped]
    lines += ["Sections: " + ", ".join(f"`{s.name}`" + (" (skipped: " + s.skipped + ")" if s.skipped else "")
                                       for s in sections), ""]
    notes: list[str] = []
    for number, section in enumerate((s for s in sections if not s.skipped), 1):
        spec = section.spec
        lines += [f"## {number}. {spec.get('title', section.name)}", ""]
        if spec.get("intro"):
            lines += [spec["intro"].strip(), ""]
        for table in spec.get("tables", ()):
            lines += _table(section, table, out, notes)
        for fig in spec.get("figures", ()):
            ev = section.evals[fig["eval"]]
            metrics = read_json(ev.out / "eval.json")
            path = lookup(metrics, f"figures.{fig['figure']}")
            caption = fig.get("caption", fig["figure"])
            if path and Path(path).is_file():
                lines += [f"![{caption}]({_rel(Path(path), out)})", "",
                          f"*{caption}* (`{ev.command}`)", ""]
            else:
                lines += [f"*{caption}: no figure (`{ev.command}` produced none)*", ""]
    if skipped:
        lines += ["## Skipped sections", ""]
        lines += [f"- `{s.name}` ({s.spec.get('title', s.name)}): {s.skipped}" for s in skipped] + [""]
    path = out / "report.md"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def _table(section: PlannedSection, table: dict, out: Path, notes: list[str]) -> list[str]:
    columns = table.get("columns", [])
    head = ["", *[c["header"] for c in columns], "targets", "time (train + eval)", "run"]
    lines = [f"### {table['title']}", ""] if table.get("title") else []
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    footnotes = []
    for row in table.get("rows", ()):
        ev = section.evals[row["eval"]]
        metrics = read_json(ev.out / "eval.json")
        record = read_json(ev.run.run_dir / RECORD) or {}
        done = record.get("evals", {}).get(ev.id, {})
        summary = read_json(ev.run.run_dir / "summary.json") or {}
        notes.append(ev.id)
        ref = f"[{len(notes)}]"
        train_s, eval_s = record.get("train_s"), done.get("eval_s")
        time_text = f"{_seconds(train_s)} + {_seconds(eval_s)}" if train_s is not None else "n/a"
        cells = [row["label"], *[_cell(c, row, metrics) for c in columns], _target_text(row, metrics),
                 time_text, ref]
        lines.append("| " + " | ".join(cells) + " |")
        limited = " (stopped by its time limit)" if summary.get("time_limited") else ""
        footnotes.append(f"{ref} `{ev.run.command}` then `{ev.command}`; step {summary.get('step', 'n/a')} of "
                         f"{ev.run.steps}{limited}; train {_seconds(train_s)} on {_machine_text(record.get('machine'))}; "
                         f"eval {_seconds(eval_s)}")
    lines.append("")
    if table.get("note"):
        lines += [table["note"].strip(), ""]
    lines += [f"<sub>{f}</sub>  " for f in footnotes] + [""]
    return lines
