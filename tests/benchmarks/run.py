"""Run every benchmark: each ``bench_*.py`` here runs in its own process (so peak RSS is
its own) and prints one JSON object per benchmark on stdout. ``make bench`` calls this.

    python tests/benchmarks/run.py [NAME ...]   # e.g. `scan` runs bench_scan.py only
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if wanted:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    failed = 0
    for script in scripts:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        result = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env)
        if result.returncode != 0:
            print(
                f"benchmark {script.name} failed with exit code {result.returncode}",
                file=sys.stderr,
            )
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
