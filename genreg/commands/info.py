"""genreg info [--json]"""

from . import print_json


def add_parser(sub):
    p = sub.add_parser("info", help="versions, devices, and which fused kernels are built")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    return p


def run(args) -> int:
    from ..info import collect, format_text

    info = collect()
    print_json(info) if args.json else print(format_text(info))
    return 0
