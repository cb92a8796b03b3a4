"""genreg new-plugin NAME [--dir DIR]"""


def add_parser(sub):
    p = sub.add_parser("new-plugin", help="create a plugin package from genreg's template",
                       description="Write genreg-NAME/ with a loss, a model, an entry point and tests; "
                                   "see docs/plugins.md.")
    p.add_argument("name", help="plugin name, e.g. 'mygan' (the package becomes genreg-mygan)")
    p.add_argument("--dir", default=".", help="folder to create the package in (default: here)")
    return p


def run(args) -> int:
    from ..scaffold import new_plugin

    root = new_plugin(args.name, args.dir)
    print(f"created {root}\nnext: pip install -e {root} && pytest {root}/tests && genreg list '{args.name}*'")
    return 0
