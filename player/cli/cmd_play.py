"""``segue play``: Segue in the terminal. Keys: n next, l like, d dislike, space pause, q quit."""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import sys
import threading
from collections.abc import Iterator
from typing import Any

KEYS_HELP = "keys: n next · l like · d dislike · space pause/resume · q quit"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "play",
        help="play in the terminal, with up-next and the reason for each pick",
        description=f"Play a track (or a radio from SEED) and keep going with picks from "
        f"the recommender. {KEYS_HELP}.",
    )
    parser.add_argument("track", nargs="?", metavar="TRACK", help="library id or file path")
    parser.add_argument("--radio", metavar="SEED", help="start a radio from a track or an artist")
    parser.add_argument(
        "--no-audio", action="store_true", help="no sound: a silent clock (for scripts and tests)"
    )
    parser.set_defaults(func=run)


def _label(track: Any) -> str:
    return " – ".join(p for p in (track.artist, track.title) if p) or os.path.basename(track.path)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02}"


class StatusBlock:
    """The terminal's status: one block redrawn in place (cursor up, clear, draw) when
    stdout is a terminal; on a pipe, a new block only when the track, the verdict, the
    pause or Up Next changes, so scripts read whole blocks."""

    def __init__(self, out: Any, live: bool) -> None:
        self.out = out
        self.live = live
        self.drawn = 0  # lines of the block on screen
        self.last: list[str] | None = None
        self.last_key: tuple[Any, ...] | None = None
        self.lock = threading.Lock()

    @staticmethod
    def lines(state: Any, width: int) -> list[str]:
        track = state.now_playing
        if track is None:
            return ["■ nothing playing"]
        paused = state.play_state in ("paused", "loaded", "stopped")
        mark = "⏸" if paused else "▶"
        verdict = "  ♥ liked" if state.liked else ("  ✕ disliked" if state.disliked else "")
        where = f"{_clock(state.position)} / {_clock(state.duration or track.duration)}"
        status = "  paused" if paused else ""
        out = [f"{mark} {_label(track)}  {where}{status}{verdict}", "  up next:"]
        for number, entry in enumerate(state.upnext[:5], 1):
            out.append(f"   {number}. {_label(entry.track)} — {entry.reason}")
        # Never wider than the terminal: a wrapped line would break the redraw.
        return [line if len(line) < width else line[: width - 2] + "…" for line in out]

    def key(self, state: Any) -> tuple[Any, ...]:
        return (
            state.now_playing,
            state.liked,
            state.disliked,
            state.play_state == "playing",
            tuple((e.track.id, e.reason) for e in state.upnext[:5]),
        )

    def show(self, state: Any, width: int = 100) -> None:
        with self.lock:
            if not self.live:
                key = self.key(state)
                if state.now_playing is None or key == self.last_key:
                    return
                self.last_key = key
                self.out.write("\n".join(self.lines(state, 10_000)) + "\n")
                self.out.flush()
                return
            lines = self.lines(state, width)
            if lines == self.last:
                return
            self.last = lines
            up = f"\x1b[{self.drawn}F" if self.drawn else ""
            self.out.write(up + "\x1b[J" + "\n".join(lines) + "\n")
            self.out.flush()
            self.drawn = len(lines)

    def note(self, text: str) -> None:
        """A message above the block (an error), which then is drawn again below it."""
        with self.lock:
            if self.live and self.drawn:
                self.out.write(f"\x1b[{self.drawn}F\x1b[J")
            self.out.write(text + "\n")
            self.out.flush()
            self.drawn = 0
            self.last = None


def _start_track(db: Any, args: argparse.Namespace) -> int:
    from player.errors import SegueError
    from player.library import tracks
    from player.recommend import EngineHost

    ref = args.track or args.radio
    if ref:
        try:
            return tracks.resolve(db, ref).id
        except SegueError:
            if not args.radio:
                raise
        # A radio seed that is not a track: an artist's most played (or first) track.
        found = tracks.most_played_by_artist(db, ref)
        if found is None:
            raise SegueError(f"no track or artist matches {ref!r}")
        return found
    # The personal model learnt first, as `segue upnext` does: the first pick is the app's.
    picks = EngineHost(db, background=False).recommend(None, count=1)
    if not picks:
        raise SegueError("the library is empty: run 'segue scan DIR' first")
    return picks[0][0]


@contextlib.contextmanager
def _keys() -> Iterator[Any]:
    """Yield a function returning the next key press (or None); cbreak mode on a TTY,
    whole lines of keys when stdin is a pipe (scripts, tests)."""
    if sys.stdin.isatty():
        import termios
        import tty

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)

        def read_tty() -> str | None:
            ready, _, _ = select.select([sys.stdin], [], [], 0.25)
            return sys.stdin.read(1) if ready else None

        try:
            yield read_tty
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        return

    pending: list[str] = []

    def read_pipe() -> str | None:
        if not pending:
            line = sys.stdin.readline()
            if not line:
                return "q"  # end of input: quit
            pending.extend(line.rstrip("\n") or " ")
        return pending.pop(0)

    yield read_pipe


def run(args: argparse.Namespace) -> int:
    from player.cli.common import open_db
    from player.playback import create_backend
    from player.recommend import EngineHost
    from player.session import ListeningSession, SessionUpdate

    with open_db(args) as db:
        start = _start_track(db, args)
        db_path = db.path
    choice = create_backend(audio=not args.no_audio)
    if choice.unavailable_reason:
        print(choice.unavailable_reason)
    session = ListeningSession(
        db_path,
        choice.backend,
        recommender=EngineHost,
        playback_note=choice.unavailable_reason,
    )
    block = StatusBlock(sys.stdout, live=sys.stdout.isatty())

    def width() -> int:
        import shutil

        return shutil.get_terminal_size((100, 24)).columns

    def show(update: SessionUpdate) -> None:
        state = update.state
        if update.kind == "error" and state.last_error:
            block.note(f"! {state.last_error}")
        block.show(state, width())

    session.add_listener(show)
    print(KEYS_HELP, flush=True)
    session.play_track(start)
    actions = {
        "n": session.next,
        "l": session.like,
        "d": session.dislike,
        " ": session.toggle_pause,
    }
    try:
        with _keys() as next_key:
            while True:
                key = next_key()
                if key is None:
                    if block.live:  # the elapsed time moves on
                        block.show(session.snapshot(), width())
                    continue
                if key in ("q", "Q", "\x04"):
                    break
                action = actions.get(key.lower())
                if action is not None:
                    action()
                    session.wait_idle()
    except KeyboardInterrupt:
        pass
    finally:
        session.close()
        choice.backend.close()
    print("bye", flush=True)
    return 0
