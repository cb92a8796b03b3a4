"""genreg list [PATTERN] [--kind K] [--json]"""

import sys

from . import print_json, print_table


def add_parser(sub):
    p = sub.add_parser("list", help="list registered models, losses, penalties, data sets, metrics",
                       description="List registry entries whose name matches PATTERN (shell wildcards).")
    p.add_argument("pattern", nargs="?", default="*", help="name pattern, e.g. 'wgan*' (default: all)")
    p.add_argument("--kind", help="only this kind: model, loss, penalty, dataset, metric, preset")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    return p


def run(args) -> int:
    from .. import get_plugin_manager

    manager = get_plugin_manager()
    entries = manager.registry.entries(args.pattern, args.kind)
    if args.json:
        print_json([e.as_dict() for e in entries])
    elif entries:
        print_table([[e.kind, e.name, e.summary, e.plugin] for e in entries], ["KIND", "NAME", "SUMMARY", "PLUGIN"])
    else:
        print(f"no entries match {args.pattern!r}" + (f" of kind {args.kind}" if args.kind else ""), file=sys.stderr)
    broken = manager.errors()
    if broken and not args.json:
        failed = [r.display for r in broken if r.withdrawn]
        partial = [f"{r.display} ({len(r.rejected)})" for r in broken if not r.withdrawn]
        if failed:
            print(f"\n{len(failed)} plugin(s) failed to load: {', '.join(failed)} (see `genreg plugins`)",
                  file=sys.stderr)
        if partial:
            print(f"\nentries refused (clashing names) from: {', '.join(partial)} (see `genreg plugins`)",
                  file=sys.stderr)
    return 0
