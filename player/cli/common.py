"""Small helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from player.library import Database, open_library


def open_db(args: argparse.Namespace) -> Database:
    return open_library(args.db)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=False) + "\n")
    sys.stdout.flush()
