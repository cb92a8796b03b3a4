"""genreg reproduce [--budget quick|standard|full] [--out DIR] [--only SECTION ...] [--plan]"""

import sys


def add_parser(sub):
    p = sub.add_parser(
        "reproduce", help="rerun the reference study end to end and write a report (Markdown + PNGs)",
        description="Train and evaluate every run the registered report sections declare (`genreg list --kind "
                    "section`; plugins add their own), then write DIR/report.md with their tables, targets and "
                    "figures; every row names its `genreg train` / `genreg eval` commands, the machine and the "
                    "time taken. Rerunning the same command reuses finished runs and resumes a killed one.")
    p.add_argument("--budget", "-b", default="quick",
                   help="quick: shorter than the recipes' targets, about 20 minutes on 2 CPU cores; standard: "
                        "every recipe at its target budget on CPU; full: GPU settings (default quick)")
    p.add_argument("--out", "-o", metavar="DIR", help="where runs and the report go (default reproduce-BUDGET)")
    p.add_argument("--only", nargs="+", metavar="SECTION", help="run only these sections")
    p.add_argument("--plan", action="store_true", help="print the commands of the plan and exit")
    return p


def run(args) -> int:
    from pathlib import Path

    from ..reproduce import Interrupted, make_plan, reproduce
    from ..reproduce.plan import check_budget

    budget = check_budget(args.budget)
    out = Path(args.out or f"reproduce-{budget}")
    if args.plan:
        for section in make_plan(budget, out, args.only):
            if section.skipped:
                print(f"# {section.name}: skipped ({section.skipped})")
                continue
            print(f"# {section.name}: {section.spec.get('title', '')}")
            for run in section.runs:
                print(run.command)
            for ev in section.evals.values():
                print(ev.command)
        return 0

    def log(text: str) -> None:
        print(f"genreg reproduce: {text}", file=sys.stderr, flush=True)

    try:
        path = reproduce(budget, out, args.only, log=log)
    except Interrupted as exc:
        print(f"genreg: {exc}; report so far: {out / 'report.md'}", file=sys.stderr)
        return 130
    print(f"genreg: wrote {path}")
    return 0
