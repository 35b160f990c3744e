"""``segue doctor``: check libVLC, the library DB, analysis and files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check the set-up: libVLC, DB, analysis and its backend, missing files"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from player.cli.common import print_json
    from player.config import default_db_path
    from player.doctor import run_checks

    path = Path(args.db) if args.db else default_db_path()
    checks = run_checks(path)
    if args.json:
        print_json(
            {
                "ok": all(c.ok for c in checks),
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
            }
        )
    else:
        for check in checks:
            print(f"{'ok ' if check.ok else '!! '} {check.name}: {check.detail}")
    return 0 if all(c.ok for c in checks) else 1
