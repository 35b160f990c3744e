"""Listening stats and the taste map, drawn with QPainter.

Stats: plays per day (bars), top artists and top tracks (horizontal bars) over a period
the user picks. Taste: every analysed track as a dot on a 2-D map of how it sounds,
coloured by genre and sized by play count; clicking the map starts a radio from the
track nearest to the click.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from player.text import plural
from player.ui.icons import muted_text
from player.ui.tasks import thread_db

PERIODS = (("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90), ("Last year", 365))


def play_axis(peak: int) -> tuple[int, list[int]]:
    """The top of a play-count axis and its ticks: whole numbers only (plays cannot be
    0.25), at most five ticks, 1-2-5 steps."""
    step = 1
    while math.ceil(peak / step) > 4:
        for factor in (2, 5 / 2, 2):
            step = int(step * factor)
            if math.ceil(peak / step) <= 4:
                break
    top = max(step, math.ceil(peak / step) * step)
    return top, list(range(0, top + 1, step))


def _dim(widget: QWidget) -> QColor:
    return muted_text(widget.palette())


class DayBars(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.days: list[tuple[str, int]] = []
        self.setMinimumHeight(180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_days(self, days: list[tuple[str, int]]) -> None:
        self.days = days
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        accent = pal.color(QPalette.ColorRole.Highlight)
        dim = _dim(self)
        r = QRectF(self.rect()).adjusted(36, 8, -8, -24)
        top, ticks = play_axis(max([n for _, n in self.days] + [1]))
        p.setPen(QPen(dim, 1, Qt.PenStyle.DotLine))
        fm = p.fontMetrics()
        for value in ticks:
            y = r.bottom() - r.height() * value / top
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
            p.drawText(QRectF(0, y - 8, 30, 16), Qt.AlignmentFlag.AlignRight, str(value))
        if not self.days:
            return
        n = len(self.days)
        slot = r.width() / n
        bar = max(1.0, slot * 0.7)
        p.setPen(Qt.PenStyle.NoPen)
        for i, (_day, count) in enumerate(self.days):
            h = r.height() * count / top
            x = r.left() + i * slot + (slot - bar) / 2
            p.setBrush(accent)
            p.drawRoundedRect(QRectF(x, r.bottom() - h, bar, h), min(3, bar / 2), min(3, bar / 2))
        p.setPen(dim)
        # As many date labels as fit side by side (one every ``labels`` days).
        room = max(1, int(r.width() // (fm.horizontalAdvance("00/00") + 12)))
        labels = max(1, math.ceil(n / room), n // 7)
        for i, (day, _) in enumerate(self.days):
            if i % labels == 0:
                text = day[5:].replace("-", "/")
                w = fm.horizontalAdvance(text)
                x = r.left() + i * slot + slot / 2 - w / 2
                p.drawText(QPointF(max(r.left(), min(x, r.right() - w)), r.bottom() + 16), text)


class RankBars(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.items: list[Any] = []
        self.setMinimumHeight(120)

    def set_items(self, items: list[Any]) -> None:
        self.items = items
        self.setMinimumHeight(max(60, 30 * len(items) + 8))
        self.update()

    def label_width(self) -> float:
        """The label column: as wide as the longest label needs, leaving the bars and
        their counts at least ``BAR_ROOM`` px."""
        fm = self.fontMetrics()
        needed = max(
            (fm.horizontalAdvance(rank_text(i.label, i.detail)) for i in self.items), default=0
        )
        return float(max(60, min(needed + 8, self.width() - 48 - self.BAR_ROOM)))

    def labels(self) -> list[str]:
        """Each row's label as drawn: whole when it fits, else the name shortened with
        "…" and its detail ("3 tracks", the artist) kept when there is room for it."""
        fm = self.fontMetrics()
        room = int(self.label_width() - 8)
        return [fit_rank_text(fm, i.label, i.detail, room) for i in self.items]

    BAR_ROOM = 80

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        accent = QColor(pal.color(QPalette.ColorRole.Highlight))
        dim = _dim(self)
        if not self.items:
            p.setPen(dim)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No plays in this period yet")
            return
        peak = max(i.plays for i in self.items) or 1
        label_w = self.label_width()
        for row, (item, text) in enumerate(zip(self.items, self.labels(), strict=True)):
            y = 4 + row * 30
            p.setPen(pal.color(QPalette.ColorRole.WindowText))
            p.drawText(QRectF(0, y, label_w - 8, 24), Qt.AlignmentFlag.AlignVCenter, text)
            w = (self.width() - label_w - 48) * item.plays / peak
            c = QColor(accent)
            c.setAlphaF(1.0 - 0.5 * row / max(1, len(self.items)))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(c)
            p.drawRoundedRect(QRectF(label_w, y + 4, max(2.0, w), 16), 4, 4)
            p.setPen(dim)
            p.drawText(
                QRectF(label_w + w + 6, y, 44, 24), Qt.AlignmentFlag.AlignVCenter, str(item.plays)
            )


_RANK_SEP = "  ·  "


def rank_text(label: str, detail: str) -> str:
    return label + (f"{_RANK_SEP}{detail}" if detail else "")


def fit_rank_text(fm: Any, label: str, detail: str, room: int) -> str:
    """``label  ·  detail`` in ``room`` px: whole, else the label elided before a whole
    detail (while the detail takes at most half the room), else all of it elided."""
    whole = rank_text(label, detail)
    if fm.horizontalAdvance(whole) <= room:
        return whole
    tail = rank_text("", detail)
    tail_w = fm.horizontalAdvance(tail)
    if detail and tail_w <= room // 2:
        return fm.elidedText(label, Qt.TextElideMode.ElideRight, room - tail_w) + tail
    return fm.elidedText(whole, Qt.TextElideMode.ElideRight, room)


class StatsView(QWidget):
    def __init__(self, db_path: str, pool) -> None:
        super().__init__()
        self.db_path, self.pool = db_path, pool
        self.period = QComboBox()
        for label, days in PERIODS:
            self.period.addItem(label, days)
        self.period.setCurrentIndex(1)
        self.period.currentIndexChanged.connect(self.refresh)
        title = QLabel("Listening")
        title.setObjectName("ViewTitle")
        self.total = QLabel()
        self.total.setObjectName("Small")
        self.days = DayBars()
        self.artists = RankBars()
        self.tracks = RankBars()
        head = QHBoxLayout()
        head.addWidget(title)
        head.addSpacing(12)
        head.addWidget(self.total, 1)
        head.addWidget(self.period)

        def section(text: str) -> QLabel:
            label = QLabel(text)
            label.setObjectName("Section")
            return label

        body = QWidget()
        grid = QGridLayout(body)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(28)
        grid.setVerticalSpacing(8)
        grid.addWidget(section("Plays per day"), 0, 0, 1, 2)
        grid.addWidget(self.days, 1, 0, 1, 2)
        grid.addWidget(section("Top artists"), 2, 0)
        grid.addWidget(section("Top tracks"), 2, 1)
        grid.addWidget(self.artists, 3, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.tracks, 3, 1, Qt.AlignmentFlag.AlignTop)
        grid.setRowStretch(4, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        layout.addLayout(head)
        layout.addWidget(scroll, 1)

    def refresh(self) -> None:
        from player.library import listening_stats as ls

        days, path = int(self.period.currentData()), self.db_path

        def load() -> tuple[Any, Any, Any]:
            db = thread_db(path)
            return ls.plays_per_day(db, days), ls.top_artists(db, days), ls.top_tracks(db, days)

        self.pool.run_task(load, self._show)

    def _show(self, result: tuple[Any, Any, Any]) -> None:
        per_day, artists, tracks = result
        total = sum(n for _, n in per_day)
        self.total.setText(plural(total, "play") if total else "No plays yet")
        self.days.set_days(per_day)
        self.artists.set_items(artists)
        self.tracks.set_items(tracks)


_PALETTE = (
    "#e0457b",
    "#ff7a59",
    "#f2b134",
    "#4cb782",
    "#2fa4d9",
    "#6a6fe0",
    "#a259d9",
    "#d96aa7",
    "#8d9a3a",
    "#3ab0a0",
    "#c4703a",
    "#5a7bd6",
)


def project(vectors: Any) -> Any:
    """2-D layout of feature vectors: standardise, then the first two principal axes."""
    import numpy as np

    x = np.asarray(vectors, dtype=np.float64)
    x = np.nan_to_num(x)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9)
    if len(x) < 3:
        return np.zeros((len(x), 2))
    _, _, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    xy = x @ vt[:2].T
    span = np.abs(xy).max(axis=0) + 1e-9
    return xy / span


@dataclass(frozen=True)
class MapPoint:
    track_id: int
    title: str
    artist: str
    genre: str
    plays: int


def point_label(point: Any) -> str:
    """ "Title — Artist", or whichever of the two is known (never a dangling dash)."""
    parts = [text for text in (point.title, point.artist) if text]
    return " — ".join(parts) or "Untitled"


def _spread(xy: Any) -> Any:
    """Positions scaled to fill [-1, 1] on each axis, by the 2nd-98th percentiles so a few
    outlying tracks do not squeeze the rest into the middle (they are clipped)."""
    import numpy as np

    if not len(xy):
        return xy, np.zeros(2), np.ones(2)
    low, high = np.percentile(xy, [2, 98], axis=0)
    centre = (low + high) / 2
    span = np.maximum((high - low) / 2, 1e-9)
    return np.clip((xy - centre) / span, -1.05, 1.05), centre, span


def tastemap_path(db_path: str) -> Path:
    """The taste map the recommender saves beside the library (``library.tastemap.npz``)."""
    p = Path(db_path)
    return p.with_name(f"{p.stem}.tastemap.npz")


def taste_layout(db_path: str) -> dict[str, Any]:
    """Runs on a worker thread: the points, their 2-D positions and the region labels.

    The recommender's saved taste map when there is one (read with numpy alone: only the
    arrays the GUI draws); otherwise a projection of the analysed tracks' features."""
    import numpy as np

    from player.library import browse, listening_stats

    db = thread_db(db_path)
    saved = tastemap_path(db_path)
    if saved.exists():
        try:
            with np.load(saved, allow_pickle=False) as data:
                ids = [int(i) for i in data["ids"]]
                xy = np.asarray(data["xy"], dtype=np.float64)
                labels = [str(s) for s in data["region_labels"]]
                label_xy = np.asarray(data["region_xy"], dtype=np.float64)
        except (OSError, KeyError, ValueError):
            ids = []
        if ids:
            rows = {r.id: r for r in browse.songs(db, ids)}
            plays = listening_stats.play_counts(db)
            keep = [k for k, i in enumerate(ids) if i in rows and not rows[i].missing]
            points = [
                MapPoint(
                    ids[k],
                    rows[ids[k]].title,
                    rows[ids[k]].artist,
                    (rows[ids[k]].genre.split(";")[0].strip() or "Unknown"),
                    plays.get(ids[k], 0),
                )
                for k in keep
            ]
            spread, centre, span = _spread(xy)
            norm = spread[keep].tolist()
            regions = [
                (labels[r], np.clip((label_xy[r] - centre) / span, -1, 1).tolist())
                for r in range(len(labels))
            ]
            return {"points": points, "xy": norm, "regions": regions}
    from player.library.taste_points import taste_points

    found = taste_points(db)
    if not found:
        return {"points": [], "xy": [], "regions": []}
    dims = max(len(p.vector) for p in found) // 4
    found = [p for p in found if len(p.vector) // 4 == dims]
    vectors = np.stack([np.frombuffer(p.vector, dtype=np.float32) for p in found])
    points = [MapPoint(p.track_id, p.title, p.artist, p.genre, p.plays) for p in found]
    xy, _, _ = _spread(project(vectors))
    return {"points": points, "xy": xy.tolist(), "regions": genre_regions(points, xy)}


def genre_regions(points: list[Any], xy: Any, most: int = 8) -> list[tuple[str, list[float]]]:
    """Until the recommender has saved its map: label where each main genre sits."""
    import numpy as np

    by_genre: dict[str, list[int]] = {}
    for i, point in enumerate(points):
        if point.genre and point.genre != "Unknown":
            by_genre.setdefault(point.genre, []).append(i)
    ranked = sorted(by_genre, key=lambda g: -len(by_genre[g]))
    return [
        (genre, np.median(np.asarray(xy)[by_genre[genre]], axis=0).tolist())
        for genre in ranked[:most]
        if len(by_genre[genre]) >= 3
    ]


class TasteMap(QWidget):
    radio = Signal(int)  # the track to start a radio from

    def __init__(self) -> None:
        super().__init__()
        self.points: list[Any] = []
        self.xy: list[tuple[float, float]] = []
        self.colors: dict[str, QColor] = {}
        self.setMouseTracking(True)
        self.setMinimumSize(300, 240)
        self.hover: int | None = None
        self.regions: list[Any] = []
        self.setCursor(Qt.CursorShape.CrossCursor)
        # Bumped by set_data; with the size (and font) it keys the caches below, so the
        # dots' positions and the labels' placement are worked out once per data change
        # or resize, not on every repaint (the map repaints on every hover change).
        self._version = 0
        self._dots_cache: tuple[Any, Any] | None = None
        self._labels_cache: tuple[Any, list[tuple[str, QRectF]]] | None = None

    def set_data(self, points: list[Any], xy: list[Any], regions: list[Any] | None = None) -> None:
        self.points, self.xy = points, [tuple(p) for p in xy]
        self.regions = list(regions or [])
        self._version += 1
        counts: dict[str, int] = {}
        for p in points:
            counts[p.genre] = counts.get(p.genre, 0) + 1
        ranked = sorted(counts, key=lambda g: -counts[g])
        named = [g for g in ranked if g != "Unknown"]
        self.colors = {g: QColor(_PALETTE[i % len(_PALETTE)]) for i, g in enumerate(named)}
        if "Unknown" in counts:
            self.colors["Unknown"] = QColor("#9a9aa6")
        self.update()

    def _pos(self, i: int) -> QPointF:
        return self._at(*self.xy[i])

    def _frame(self) -> tuple[float, float, float, float]:
        """Centre and size of the rectangle the map's [-1, 1] square is stretched over."""
        # The legend's column on the right: narrower when the view is.
        legend = min(170, int(self.width() * 0.28))
        r = QRectF(self.rect()).adjusted(24, 24, -legend, -24)
        return r.center().x(), r.center().y(), r.width(), r.height()

    def _at(self, x: float, y: float) -> QPointF:
        cx, cy, w, h = self._frame()
        return QPointF(cx + x * w / 2, cy - y * h / 2)

    def dot_positions(self) -> tuple[Any, Any]:
        """Every dot's position on screen as two numpy arrays (x, y), the same values
        ``_pos`` gives; worked out once per data change or resize."""
        import numpy as np

        key = (self._version, self.width(), self.height())
        if self._dots_cache is None or self._dots_cache[0] != key:
            xy = np.asarray(self.xy, dtype=np.float64).reshape(-1, 2)
            cx, cy, w, h = self._frame()
            self._dots_cache = (key, (cx + xy[:, 0] * w / 2, cy - xy[:, 1] * h / 2))
        return self._dots_cache[1]

    def _plot(self) -> QRectF:
        """Where dots and region labels go: the widget less its margins and the legend."""
        legend = min(170, int(self.width() * 0.28))
        return QRectF(self.rect()).adjusted(8, 8, -legend, -8)

    def label_font(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def label_boxes(self) -> list[tuple[str, QRectF]]:
        """Each region's label as drawn and its box: elided to a third of the map (at
        most 220 px), kept inside the map left of the legend, and of the spots near its
        region (on it, above, below, to a side) the one covering fewest dots and no label
        placed before it. Placed once per data change, resize or font change."""
        font = self.label_font()
        key = (self._version, self.width(), self.height(), font.toString())
        if self._labels_cache is None or self._labels_cache[0] != key:
            self._labels_cache = (key, self._place_labels(font))
        return [(shown, QRectF(box)) for shown, box in self._labels_cache[1]]

    def _place_labels(self, font: QFont) -> list[tuple[str, QRectF]]:
        fm = QFontMetricsF(font)
        area = self._plot()
        most = max(40.0, min(220.0, area.width() / 3))
        dot_x, dot_y = self.dot_positions()
        placed: list[QRectF] = []
        out: list[tuple[str, QRectF]] = []
        for text, (x, y) in self.regions:
            shown = fm.elidedText(str(text), Qt.TextElideMode.ElideRight, most)
            w, h = fm.horizontalAdvance(shown) + 10, fm.height() + 4
            q = self._at(x, y)
            best: tuple[int, int, QRectF] | None = None
            for rank, (dx, dy) in enumerate(
                ((0, 0), (0, -h), (0, h), (-w / 2 - 8, 0), (w / 2 + 8, 0), (0, -2 * h), (0, 2 * h))
            ):
                box = QRectF(q.x() + dx - w / 2, q.y() + dy - h / 2, w, h)
                box.moveLeft(max(area.left(), min(box.left(), area.right() - w)))
                box.moveTop(max(area.top(), min(box.top(), area.bottom() - h)))
                if any(box.intersects(other) for other in placed):
                    continue
                # Dots within 4 px of the box (QRectF.contains: edges included).
                near = box.adjusted(-4, -4, 4, 4)
                covered = int(
                    (
                        (dot_x >= near.left())
                        & (dot_x <= near.right())
                        & (dot_y >= near.top())
                        & (dot_y <= near.bottom())
                    ).sum()
                )
                if best is None or (covered, rank) < best[:2]:
                    best = (covered, rank, box)
            if best is None:
                continue  # no free spot near its region: left out rather than drawn over
            placed.append(best[2])
            out.append((shown, best[2]))
        return out

    def _nearest(self, point: QPointF, reach: float = 40.0) -> int | None:
        """The dot closest to ``point`` (the first of equals) if nearer than ``reach`` px."""
        if not self.points:
            return None
        dot_x, dot_y = self.dot_positions()
        d = (dot_x - point.x()) ** 2 + (dot_y - point.y()) ** 2
        best = int(d.argmin())
        return best if d[best] < reach**2 else None

    def mouseMoveEvent(self, event) -> None:
        i = self._nearest(event.position())
        if i != self.hover:
            self.hover = i
            self.setToolTip(
                f"{point_label(self.points[i])}\n{self.points[i].genre}\n"
                "Click to start a radio here"
                if i is not None
                else ""
            )
            self.update()

    def mousePressEvent(self, event) -> None:
        # Anywhere on the map: the radio starts from the track closest to the click.
        i = self._nearest(event.position(), reach=float("inf"))
        if i is not None:
            self.radio.emit(self.points[i].track_id)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        dim = _dim(self)
        if not self.points:
            p.setPen(dim)
            p.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                "The taste map appears once your music has been analysed.\n"
                "Analysis runs in the background after a scan.",
            )
            return
        p.setPen(QPen(self.palette().color(QPalette.ColorRole.Window), 1))
        fills: dict[str, QColor] = {}  # each genre's colour at the dots' opacity
        for genre in {point.genre for point in self.points}:
            fills[genre] = QColor(self.colors.get(genre, dim))
            fills[genre].setAlphaF(0.7)
        xs, ys = (a.tolist() for a in self.dot_positions())
        for i, point in enumerate(self.points):
            c = fills[point.genre]
            if i == self.hover:
                c = QColor(c)
                c.setAlphaF(0.95)
            radius = min(4 + 3 * math.sqrt(point.plays), 22)
            p.setBrush(c)
            p.drawEllipse(QPointF(xs[i], ys[i]), radius, radius)
        p.setFont(self.label_font())
        plate = QColor(self.palette().color(QPalette.ColorRole.Window))
        plate.setAlphaF(0.85)
        for shown, box in self.label_boxes():
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(plate)
            p.drawRoundedRect(box, 4, 4)
            p.setPen(dim)
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, shown)
        p.setFont(self.font())
        if self.hover is not None:
            q = self._pos(self.hover)
            pt = self.points[self.hover]
            p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            p.drawText(QPointF(q.x() + 12, q.y() - 8), point_label(pt))
        # legend
        x = self.width() - min(150, int(self.width() * 0.26))
        y = 30
        font = QFont(self.font())
        p.setFont(font)
        for genre, color in list(self.colors.items())[:14]:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawEllipse(QPointF(x + 6, y + 8), 6, 6)
            p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            room = max(20, self.width() - x - 22)
            p.drawText(
                QRectF(x + 18, y, room, 16),
                Qt.AlignmentFlag.AlignVCenter,
                p.fontMetrics().elidedText(genre, Qt.TextElideMode.ElideRight, room),
            )
            y += 22


class TasteView(QWidget):
    def __init__(self, db_path: str, pool, session) -> None:
        super().__init__()
        self.db_path, self.pool, self.session = db_path, pool, session
        title = QLabel("Taste")
        title.setObjectName("ViewTitle")
        hint = QLabel(
            "How your music sounds, laid out on a map: colour is genre, size is how "
            "often you play it. Click anywhere to start a radio there."
        )
        hint.setObjectName("Small")
        hint.setWordWrap(True)
        self.map = TasteMap()
        self.map.radio.connect(self._radio)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(self.map, 1)

    def refresh(self) -> None:
        path = self.db_path
        self.pool.run_task(lambda: taste_layout(path), self._show)

    def _show(self, data: dict[str, Any]) -> None:
        self.map.set_data(data["points"], data["xy"], data.get("regions"))

    def _radio(self, track_id: int) -> None:
        self.session.play_track(track_id)
