"""The player's saved state (what played, where, the queue): one JSON row."""

from __future__ import annotations

import json
import time
from typing import Any

from player.library.db import Database


def save(db: Database, state: dict[str, Any]) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO player_state (id, state, saved_at) VALUES (1, ?, ?)",
            (json.dumps(state), time.time()),
        )


def load(db: Database) -> dict[str, Any] | None:
    """The last saved state, or None (never saved, or unreadable: start afresh)."""
    text = db.scalar("SELECT state FROM player_state WHERE id = 1")
    if not text:
        return None
    try:
        state = json.loads(text)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None
