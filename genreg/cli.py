"""The ``genreg`` command line.

Each sub-command lives in genreg/commands/<name>.py with ``add_parser(subparsers)``
and ``run(args) -> int``; those modules must import nothing heavy at import time so
that ``genreg list`` and ``--help`` stay fast. Exit codes: 0 ok, 1 runtime error,
2 usage or configuration error. Errors a user can fix print one line, no traceback
(``GENREG_DEBUG=1`` shows it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ._version import __version__
from .errors import GenregError

# commands that compute: they keep freed memory for reuse (genreg.process_memory)
COMPUTE_COMMANDS = frozenset({"train", "eval", "reproduce", "bench", "sample", "apply"})
COMMANDS = ("list", "plugins", "info", "data", "train", "eval", "plot", "sample", "apply", "export", "reproduce",
            "bench", "new-plugin")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genreg", description="A plugin registry of generative models with fused kernels.")
    parser.add_argument("--version", action="version", version=f"genreg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"genreg.commands.{name.replace('-', '_')}")
        module.add_parser(sub).set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # Commands taking KEY=VALUE words (train) may have them after options too:
    # argparse leaves those over, and the command's _extra_positionals takes them.
    args, extras = parser.parse_known_args(argv)
    if extras:
        field = getattr(args, "_extra_positionals", None)
        if field is None or any(e.startswith("-") for e in extras):
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        setattr(args, field, [*getattr(args, field), *extras])
    if args.command in COMPUTE_COMMANDS:
        from .process_memory import keep_for_command

        keep_for_command()
    try:
        return int(args._run(args) or 0)
    except GenregError as exc:
        if os.environ.get("GENREG_DEBUG"):
            raise
        print(f"genreg: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("genreg: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `genreg list | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
