"""The ``segue`` command.

Each subcommand lives in its own module ``player.cli.cmd_<name>`` exposing
``register(subparsers)``; heavy imports stay inside the command's ``run`` so that
``segue --help`` and ``segue --version`` start instantly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys
from collections.abc import Sequence

from player import __version__
from player.errors import SegueError

# Subcommand modules, in the order ``segue --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "gui",
    "scan",
    "library",
    "tracks",
    "analyze",
    "similar",
    "log",
    "history",
    "upnext",
    "play",
    "playlist",
    "radio",
    "smart",
    "eval",
    "doctor",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, no usage dump: the user asked for help with --help if they need it.
        self.exit(2, f"segue: error: {message} (see 'segue --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="segue",
        description="Segue: a music player whose up-next queue learns from you, on your machine.",
    )
    parser.add_argument("--version", action="version", version=f"segue {__version__}")
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="library database to use (default: $SEGUE_DB or the user data folder)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"player.cli.cmd_{name}")
        module.register(subparsers)
    return parser


def route_files(argv: Sequence[str]) -> list[str]:
    """``segue FILE...`` ("Open with Segue") means ``segue gui FILE...``: when the first
    argument that is not an option is an existing file rather than a command."""
    args = list(argv)
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] == "--db" else 1
    if i < len(args) and args[i] not in COMMAND_MODULES and os.path.isfile(args[i]):
        args.insert(i, "gui")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(route_files(sys.argv[1:] if argv is None else argv))
    try:
        if args.command is None:
            return _start_gui(args)
        result: int = args.func(args)
        return result
    except SegueError as exc:
        print(f"segue: error: {exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:  # a read outside the library's own mapping: still one line
        from player.library.db import describe_error

        print(f"segue: error: library DB: {describe_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("segue: interrupted; everything finished so far is saved", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `segue library | head`: the reader went away, which is not an error.
        sys.stderr.close()
        return 0


def _start_gui(args: argparse.Namespace) -> int:
    try:
        gui = importlib.import_module("player.cli.cmd_gui")
    except ModuleNotFoundError:
        print(
            "segue: the desktop window is not part of this build yet; "
            "use 'segue scan DIR' and 'segue library' (see 'segue --help')",
            file=sys.stderr,
        )
        return 1
    result: int = gui.run(args)
    return result
