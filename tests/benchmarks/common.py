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


def proc_kb(path: str, field: str) -> float:
    """A ``Field: N kB`` value of a /proc file (0 when it can't be read)."""
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(field):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def rss_mb() -> float:
    """This process's resident memory now."""
    return proc_kb("/proc/self/status", "VmRSS:") / 1024


def reset_peak_rss() -> None:
    """Start this process's peak RSS (``since_reset_peak_rss_mb``) afresh (Linux)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def since_reset_peak_rss_mb() -> float:
    return proc_kb("/proc/self/status", "VmHWM:") / 1024


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


class TreeMemorySampler:
    """Samples a process tree's memory from /proc while it runs (Linux).

    Reports the peak RSS of the root process, the peak summed RSS of the whole tree
    (which counts pages shared between forked workers more than once) and the peak
    summed PSS (shared pages divided among their users: the honest total).
    """

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        import threading

        self.pid = pid
        self.interval = interval
        self.peak_root_rss_mb = 0.0
        self.peak_tree_rss_mb = 0.0
        self.peak_tree_pss_mb = 0.0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _children(pid: int) -> list[int]:
        from pathlib import Path

        found: list[int] = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                found += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
        return found

    def _run(self) -> None:
        while not self._stop.is_set():
            tree, stack = [], [self.pid]
            while stack:
                pid = stack.pop()
                tree.append(pid)
                stack += self._children(pid)
            rss = [proc_kb(f"/proc/{p}/status", "VmRSS:") for p in tree]
            pss = [proc_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in tree]
            self.peak_root_rss_mb = max(self.peak_root_rss_mb, rss[0] / 1024)
            self.peak_tree_rss_mb = max(self.peak_tree_rss_mb, sum(rss) / 1024)
            self.peak_tree_pss_mb = max(self.peak_tree_pss_mb, sum(pss) / 1024)
            self.peak_processes = max(self.peak_processes, len(tree))
            self._stop.wait(self.interval)
