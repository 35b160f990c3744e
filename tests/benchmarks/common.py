"""Helpers for benchmark scripts: timing, peak RSS, and the one-JSON-line report."""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def peak_rss_mb(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def timed(fn: Callable[[], Any], repeat: int = 5) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def report(name: str, **fields: Any) -> None:
    """Print one benchmark's result as a single JSON object on stdout."""
    sys.stdout.write(json.dumps({"benchmark": name, **fields}) + "\n")
    sys.stdout.flush()
