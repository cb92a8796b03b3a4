"""genreg plugins [--json] [--verbose]"""

from . import print_json, print_table


def add_parser(sub):
    p = sub.add_parser("plugins", help="list plugins, their hooks, versions and load errors")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    p.add_argument("--verbose", "-v", action="store_true", help="show the traceback of each failed plugin")
    return p


def run(args) -> int:
    from .. import get_plugin_manager

    records = get_plugin_manager().plugins()
    if args.json:
        print_json([r.as_dict() for r in records])
        return 0
    rows = []
    for r in records:
        if r.disabled:
            status = "disabled"
        elif r.withdrawn:
            status = f"ERROR {r.error}"
        else:
            status = f"{len(r.entries)} entries" + (f"; {r.error}" if r.error else "")
        rows.append([r.display, r.version, "builtin" if r.builtin else r.source, ",".join(r.hooks), status])
    print_table(rows, ["PLUGIN", "VERSION", "SOURCE", "HOOKS", "STATUS"])
    if args.verbose:
        for r in records:
            if r.traceback:
                print(f"\n--- {r.display} ---\n{r.traceback}", end="")
    return 0
