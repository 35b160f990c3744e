"""The layering rules: the engine stays pure and only player/ui touches Qt.

Each check imports the modules in a fresh interpreter and inspects ``sys.modules``, so a
forbidden import anywhere in the import graph (not only a direct one) is caught.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str, *, skip: tuple[str, ...] = ()) -> list[str]:
    names = [package]
    for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
        if info.name.endswith(".__main__"):
            continue  # running it would start the program
        if not any(info.name == s or info.name.startswith(s + ".") for s in skip):
            names.append(info.name)
    return sorted(names)


def _loaded_after_import(modules: list[str]) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_engine_imports_no_qt_sqlite_or_player() -> None:
    modules = _modules("recommender")
    loaded = _loaded_after_import(modules)
    forbidden = {m for m in loaded if m.split(".")[0] in {"PySide6", "sqlite3", "sqlite_utils"}}
    forbidden |= {m for m in loaded if m == "player" or m.startswith("player.")}
    assert not forbidden, f"recommender pulled in {sorted(forbidden)}"


def test_player_core_imports_no_qt() -> None:
    modules = _modules("player", skip=("player.ui", "player.cli.cmd_gui"))
    loaded = _loaded_after_import(modules)
    qt = sorted(m for m in loaded if m.split(".")[0] in {"PySide6", "shiboken6"})
    assert not qt, f"non-UI player modules pulled in {qt}"
    assert not any(m.startswith("player.ui") for m in loaded)


def _imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_source_file_breaks_the_layers() -> None:
    """Catches forbidden imports hidden inside functions, which importing cannot see."""
    problems = []
    for path in (ROOT / "recommender").rglob("*.py"):
        for name in _imports_of(path):
            top = name.split(".")[0]
            if top in {"PySide6", "sqlite3", "sqlite_utils", "player"}:
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    for path in (ROOT / "player").rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[:2] == ("player", "ui") or rel.name == "cmd_gui.py":
            continue
        for name in _imports_of(path):
            if name.startswith("player.ui") or name.split(".")[0] == "PySide6":
                problems.append(f"{rel} imports {name}")
    assert not problems, "\n".join(problems)


def test_all_sql_lives_in_the_library_package() -> None:
    import re

    statement = re.compile(r"[\"'](SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|PRAGMA) ")
    problems = []
    for package in ("player", "recommender"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if rel.parts[:2] == ("player", "library"):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if statement.search(line):
                    problems.append(f"{rel}:{number}: {line.strip()}")
    assert not problems, "\n".join(problems)
