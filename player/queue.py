"""The play queue: what plays now, what the user lined up, and what the recommender adds.

Pure logic (no Qt, no SQL, no threads); items are the library's int track ids. The owner
(the listening session) serialises the calls; the queue is not thread-safe.

The up-next list is two blocks, always in this order:

1. **Pinned** entries, placed by the user: "play next" (front), "add to queue" (end),
   entries the user moved, and tracks stepped back over with ``previous()``. Nothing
   automatic ever removes or reorders them.
2. **The automatic tail**, chosen by the recommender, each entry with its reason. It is
   refilled through the ``fill`` callback when fewer than ``low_water`` entries are left
   (up to ``target``), and replaced at once by ``set_auto_tail()`` when the recommender
   re-ranks after a skip or a like. Auto-fill can be switched off; that clears the tail.

Rules we chose:

- **Moving** an entry pins it, at the place it was dropped. Pinned entries always
  precede the automatic tail, so an entry dropped inside the tail takes the automatic
  entries above the drop point along: they are pinned too, in their order (reasons
  kept), and the list plays as the user sees it. An entry moved to (or placed by "play
  next" or ``previous()`` at) the front joins the *front group*, kept in order ahead of
  everything the user merely added.
- Pinning an item (play next, add, play now) drops the automatic entries of that item:
  the user's placement wins, and the tail never repeats what is pinned or playing.
- **Removing** an automatic entry also keeps the recommender from suggesting that item
  again in this queue (a refill or a re-ranking skips it).
- **Previous / next** walk the history: ``previous()`` puts the current entry back at
  the front of the queue (pinned, so a re-ranking cannot lose it) and makes the last
  played entry current; ``next()`` then returns to it.
- **Repeat one** replays the current entry when a track *ends* (``advance()``); the
  user's ``next()`` still moves on. The replays do not fill the history.
- **Repeat all** replays the cycle played so far once nothing else is left: when
  auto-fill is off, or the recommender has nothing more. The replayed entries are
  queued (pinned, origin REPEAT) as soon as the last entry of the cycle starts, so the
  player can preload the first of them; switching repeat off drops them.
- **Shuffle** applies to the pinned entries the user *added* (not the front group, never
  the automatic tail: its order is the recommender's ranking). Switching it on shuffles
  them once, entries added meanwhile land at a random place; switching it off puts them
  back in the order they were added. A repeat-all cycle is replayed shuffled.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum


class Origin(Enum):
    USER = "user"  # placed by the user
    AUTO = "auto"  # chosen by the recommender
    REPEAT = "repeat"  # queued again by repeat-all


class Repeat(Enum):
    OFF = "off"
    ONE = "one"
    ALL = "all"


@dataclass(frozen=True)
class Entry:
    """One place in the queue. ``uid`` tells apart two entries of the same item."""

    uid: int
    item: int
    origin: Origin
    reason: str = ""


@dataclass(frozen=True)
class FillRequest:
    """What the recommender needs to extend the automatic tail."""

    current: int | None
    history: tuple[int, ...]  # recently played items, oldest first
    queued: tuple[int, ...]  # items already up next, in order
    exclude: frozenset[int]  # never suggest these (current, queued, removed by the user)
    count: int  # how many entries are wanted


AutoItem = tuple[int, str]  # (item, reason)
Fill = Callable[[FillRequest], Iterable[AutoItem]]

_HISTORY_FOR_FILL = 50


class PlayQueue:
    def __init__(
        self,
        fill: Fill | None = None,
        *,
        auto_fill: bool = True,
        low_water: int = 3,
        target: int = 10,
        max_history: int = 1000,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 <= low_water <= target:
            raise ValueError("need 0 <= low_water <= target")
        self._fill = fill
        self._auto_fill = auto_fill
        self._low_water = low_water
        self._target = target
        self._max_history = max_history
        self._rng = rng or random.Random()
        self._uids = itertools.count(1)

        self._history: list[Entry] = []
        self._current: Entry | None = None
        self._pinned: list[Entry] = []
        self._front = 0  # pinned[:_front] is the front group (play next, stepped back)
        self._auto: list[Entry] = []
        self._removed: set[int] = set()  # automatic items the user removed

        self._repeat = Repeat.OFF
        self._shuffle = False
        self._rank: dict[int, int] = {}  # uid -> added order, to undo a shuffle
        self._ranks = itertools.count()
        self._cycle_start = 0  # history index where the repeat-all cycle begins
        self._filling = False
        self._listeners: list[Callable[[], None]] = []

    # -- what is in it -----------------------------------------------------------------------

    @property
    def current(self) -> Entry | None:
        return self._current

    @property
    def upcoming(self) -> tuple[Entry, ...]:
        return (*self._pinned, *self._auto)

    @property
    def pinned(self) -> tuple[Entry, ...]:
        return tuple(self._pinned)

    @property
    def auto_tail(self) -> tuple[Entry, ...]:
        return tuple(self._auto)

    @property
    def history(self) -> tuple[Entry, ...]:
        return tuple(self._history)

    @property
    def repeat(self) -> Repeat:
        return self._repeat

    @property
    def shuffle(self) -> bool:
        return self._shuffle

    @property
    def auto_fill(self) -> bool:
        return self._auto_fill

    def peek(self) -> Entry | None:
        """What ``advance()`` would play: the track to preload for a gapless switch."""
        if self._repeat is Repeat.ONE and self._current is not None:
            return self._current
        upcoming = self.upcoming
        return upcoming[0] if upcoming else None

    def add_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Called after every change; returns a function that removes the listener."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- the user's entries ------------------------------------------------------------------

    def play_next(self, item: int) -> Entry:
        """Queue ``item`` to play right after the current one (ahead of earlier "play
        next" entries too, as in most players)."""
        entry = self._entry(item, Origin.USER)
        self._pinned.insert(0, entry)
        self._front += 1
        self._drop_auto({entry.item})
        self._settle()
        return entry

    def add(self, item: int) -> Entry:
        """Queue ``item`` after everything the user queued (before the automatic tail)."""
        return self.add_many([item])[0]

    def add_many(self, items: Iterable[int]) -> list[Entry]:
        entries = [self._entry(item, Origin.USER) for item in items]
        for entry in entries:
            self._insert_added(entry)
        self._drop_auto({entry.item for entry in entries})
        self._settle()
        return entries

    def move(self, uid: int, index: int) -> None:
        """Move an entry to ``index`` of the up-next list (where it ends up); moving pins
        it, and the automatic entries it passes when dropped in the tail (see rules)."""
        entry = self._take(uid)
        if entry.origin is not Origin.USER:
            entry = Entry(entry.uid, entry.item, Origin.USER, entry.reason)
        index = max(0, min(index, len(self._pinned) + len(self._auto)))
        passed = self._auto[: max(0, index - len(self._pinned))]
        if passed:
            del self._auto[: len(passed)]
            for auto in passed:
                pinned = Entry(auto.uid, auto.item, Origin.USER, auto.reason)
                self._pinned.append(pinned)
                if self._shuffle:
                    self._rank.setdefault(pinned.uid, next(self._ranks))
        self._pinned.insert(index, entry)
        if index <= self._front:
            self._front += 1
        elif self._shuffle:
            self._rank.setdefault(entry.uid, next(self._ranks))
        self._settle()

    def remove(self, uid: int) -> Entry:
        entry = self._take(uid)
        if entry.origin is Origin.AUTO:
            self._removed.add(entry.item)
        self._settle()
        return entry

    def clear_pinned(self) -> None:
        self._pinned.clear()
        self._front = 0
        self._rank.clear()
        self._settle()

    # -- the automatic tail ------------------------------------------------------------------

    def set_fill(self, fill: Fill | None) -> None:
        self._fill = fill
        self._settle()

    def set_auto_fill(self, on: bool) -> None:
        """Switch the automatic tail on (filled at once) or off (cleared)."""
        self._auto_fill = on
        if not on:
            self._auto.clear()
        self._settle()

    def set_auto_tail(self, items: Iterable[AutoItem]) -> None:
        """Replace the whole automatic tail by a new ranking; pinned entries stay as they
        are. Items already current or pinned, removed by the user, or repeated in
        ``items`` are left out. Ignored while auto-fill is off."""
        if not self._auto_fill:
            return
        self._auto = []
        self._append_auto(items, limit=None)
        self._drop_pending_repeats_if_auto()
        self._changed()

    def refill(self) -> None:
        """Top the automatic tail up now, if it is low."""
        self._settle()

    # -- moving through it -------------------------------------------------------------------

    def next(self) -> Entry | None:
        """The user's "next": the current entry goes to history, the next one plays.
        ``None`` when nothing is left (the queue stopped)."""
        self._top_up()
        if self._current is not None:
            self._push_history(self._current)
        self._current = self._pop_upcoming()
        self._settle()
        return self._current

    def advance(self) -> Entry | None:
        """The current track ended by itself: like ``next()``, but repeat-one replays it."""
        if self._repeat is Repeat.ONE and self._current is not None:
            self._changed()
            return self._current
        return self.next()

    def previous(self) -> Entry | None:
        """Step back: the last played entry plays again, the current one waits at the
        front of the queue. ``None`` (and no change) when there is no history."""
        if not self._history:
            return None
        if self._current is not None:
            self._pinned.insert(0, self._current)
            self._front += 1
        self._current = self._history.pop()
        self._drop_auto({self._current.item})
        self._cycle_start = min(self._cycle_start, len(self._history))
        self._settle()
        return self._current

    def jump_to(self, uid: int) -> Entry:
        """Play an up-next entry now. Automatic entries before it are passed over (they
        were only suggestions); pinned ones stay queued."""
        if any(e.uid == uid for e in self._auto):
            while self._auto[0].uid != uid:
                self._auto.pop(0)
        entry = self._take(uid)
        if self._current is not None:
            self._push_history(self._current)
        self._current = entry
        self._settle()
        return entry

    def play_now(self, item: int) -> Entry:
        """Play ``item`` at once; the queue stays as it is."""
        if self._current is not None:
            self._push_history(self._current)
        self._current = entry = self._entry(item, Origin.USER)
        self._drop_auto({item})
        self._settle()
        return entry

    # -- saving and restoring ----------------------------------------------------------------

    def saved(self) -> dict[str, object]:
        """The queue as plain data (track ids, pins, reasons), for ``restore``."""
        return {
            "current": None if self._current is None else self._current.item,
            "front": [e.item for e in self._pinned[: self._front]],
            "added": [e.item for e in self._pinned[self._front :]],
            "auto": [[e.item, e.reason] for e in self._auto],
            "history": [e.item for e in self._history[-_HISTORY_FOR_FILL:]],
        }

    def restore(
        self,
        current: int | None,
        front: Sequence[int] = (),
        added: Sequence[int] = (),
        auto: Sequence[AutoItem] = (),
        history: Sequence[int] = (),
    ) -> Entry | None:
        """Put back a saved queue (``saved()``): the current entry (returned), the front
        group and the added entries pinned as before, then the automatic tail with its
        reasons. Replaces whatever the queue held."""
        self._history = [self._entry(item, Origin.USER) for item in history]
        self._cycle_start = len(self._history)
        self._current = None if current is None else self._entry(current, Origin.USER)
        self._pinned = [self._entry(item, Origin.USER) for item in (*front, *added)]
        self._front = len(front)
        self._rank.clear()
        self._auto = []
        self._append_auto(auto, limit=None)
        self._settle()
        return self._current

    # -- modes -------------------------------------------------------------------------------

    def set_repeat(self, mode: Repeat) -> None:
        self._repeat = mode
        if mode is not Repeat.ALL:
            self._drop_pending_repeats()
        self._settle()

    def set_shuffle(self, on: bool) -> None:
        if on == self._shuffle:
            return
        self._shuffle = on
        added = self._pinned[self._front :]
        if on:
            self._rank = {entry.uid: next(self._ranks) for entry in added}
            self._rng.shuffle(added)
        else:
            added.sort(key=lambda entry: self._rank.get(entry.uid, 0))
            self._rank.clear()
        self._pinned[self._front :] = added
        self._changed()

    # -- internals ---------------------------------------------------------------------------

    def _entry(self, item: int, origin: Origin, reason: str = "") -> Entry:
        return Entry(next(self._uids), int(item), origin, reason)

    def _insert_added(self, entry: Entry) -> None:
        if self._shuffle:
            self._rank[entry.uid] = next(self._ranks)
            self._pinned.insert(self._rng.randint(self._front, len(self._pinned)), entry)
        else:
            self._pinned.append(entry)

    def _take(self, uid: int) -> Entry:
        for index, entry in enumerate(self._pinned):
            if entry.uid == uid:
                del self._pinned[index]
                if index < self._front:
                    self._front -= 1
                return entry
        for index, entry in enumerate(self._auto):
            if entry.uid == uid:
                del self._auto[index]
                return entry
        raise KeyError(f"no queued entry {uid}")

    def _pop_upcoming(self) -> Entry | None:
        if self._pinned:
            entry = self._pinned.pop(0)
            if self._front:
                self._front -= 1
            self._rank.pop(entry.uid, None)
            return entry
        if self._auto:
            return self._auto.pop(0)
        return None

    def _push_history(self, entry: Entry) -> None:
        self._history.append(entry)
        overflow = len(self._history) - self._max_history
        if overflow > 0:
            del self._history[:overflow]
            self._cycle_start = max(0, self._cycle_start - overflow)

    def _excluded(self) -> set[int]:
        excluded = {e.item for e in self.upcoming} | self._removed
        if self._current is not None:
            excluded.add(self._current.item)
        return excluded

    def _append_auto(self, items: Iterable[AutoItem], limit: int | None) -> None:
        excluded = self._excluded()
        for item, reason in items:
            if limit is not None and limit <= 0:
                break
            if item in excluded:
                continue
            excluded.add(item)
            self._auto.append(self._entry(item, Origin.AUTO, reason))
            if limit is not None:
                limit -= 1

    def _top_up(self) -> None:
        """Ask the recommender for more when the automatic tail is low."""
        if not (self._auto_fill and self._fill) or self._filling:
            return
        if len(self._auto) >= self._low_water and self.upcoming:
            return
        wanted = self._target - len(self._auto)
        if wanted <= 0:
            return
        request = FillRequest(
            current=None if self._current is None else self._current.item,
            history=tuple(e.item for e in self._history[-_HISTORY_FOR_FILL:]),
            queued=tuple(e.item for e in self.upcoming),
            exclude=frozenset(self._excluded()),
            count=wanted,
        )
        self._filling = True  # a fill that calls back into the queue must not recurse
        try:
            picks: Sequence[AutoItem] = list(self._fill(request))
        finally:
            self._filling = False
        self._append_auto(picks, limit=wanted)
        self._drop_pending_repeats_if_auto()

    def _wrap_for_repeat_all(self) -> None:
        """Nothing left and repeat-all: queue the cycle played so far once more."""
        if self._repeat is not Repeat.ALL or self.upcoming or self._current is None:
            return
        cycle = [*self._history[self._cycle_start :], self._current]
        replay = [self._entry(e.item, Origin.REPEAT, e.reason) for e in cycle]
        if self._shuffle:
            self._rng.shuffle(replay)
            for entry in replay:
                self._rank[entry.uid] = next(self._ranks)
        self._pinned.extend(replay)
        # The replay starts after the current entry, which goes to history first.
        self._cycle_start = len(self._history) + 1

    def _drop_auto(self, items: set[int]) -> None:
        # The user's placement wins over a suggestion of the same track.
        self._auto = [e for e in self._auto if e.item not in items]

    def _drop_pending_repeats(self) -> None:
        front = self._pinned[: self._front]
        rest = [e for e in self._pinned[self._front :] if e.origin is not Origin.REPEAT]
        self._pinned = front + rest

    def _drop_pending_repeats_if_auto(self) -> None:
        # Recommendations arrived after all: they play instead of a replay.
        if self._auto:
            self._drop_pending_repeats()

    def _settle(self) -> None:
        self._top_up()
        self._wrap_for_repeat_all()
        self._changed()

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()
