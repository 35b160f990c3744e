"""The personal model's saved state: the personal thread (when a replay is ready) and the
session thread (after each event) may save at the same moment."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from player.personal_cache import load_state, save_state


def test_two_threads_saving_at_once_leave_one_whole_state(tmp_path: Path) -> None:
    db_path = tmp_path / "library.db"
    states = [
        {"p_w1": np.full((300, 300), float(k)), "p_lin": np.arange(50, dtype=np.float64) + k}
        for k in range(2)
    ]
    start = threading.Barrier(2)
    torn: list[object] = []

    def saver(k: int) -> None:
        start.wait()
        for _ in range(40):
            save_state(db_path, states[k])
            loaded = load_state(db_path)
            # Whatever the other thread did meanwhile, a load finds one whole state.
            if loaded is None or not any(
                all(np.array_equal(loaded[n], s[n]) for n in s) for s in states
            ):
                torn.append(loaded)

    threads = [threading.Thread(target=saver, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not torn
    assert not list(tmp_path.glob("*.tmp*"))  # no temporary left behind
