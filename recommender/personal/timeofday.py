"""When this listener plays each track: hour of day and day of week, as a lift over their
overall listening at that hour ("morning music is not evening music")."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
_PRIOR = 2.0  # pseudo-plays spread like the listener's own hours: few plays, little lift
PARTS_OF_DAY = (
    (5, 12, "in the morning"),
    (12, 17, "in the afternoon"),
    (17, 22, "in the evening"),
    (22, 29, "at night"),
)


def hour_and_day(ts: float, utc_offset_s: float) -> tuple[int, int]:
    local = ts + utc_offset_s
    hour = int(local // 3600) % 24
    day = int((local // 86400 + 3) % 7)  # 1 Jan 1970 was a Thursday: Monday is 0
    return hour, day


def part_of_day(hour: int) -> str:
    for start, end, words in PARTS_OF_DAY:
        if start <= hour < end or start <= hour + 24 < end:
            return words
    return ""


class TimeOfDay:
    """Per-track counts by hour (smoothed over the neighbouring hours) and by weekday."""

    def __init__(self, n_items: int, utc_offset_s: float = 0.0) -> None:
        self.utc_offset_s = utc_offset_s
        self.hours = np.zeros((n_items, 24), dtype=np.float32)
        self.days = np.zeros((n_items, 7), dtype=np.float32)
        self.total_hours = np.zeros(24, dtype=np.float64)
        self.total_days = np.zeros(7, dtype=np.float64)

    def grow(self, n_items: int) -> None:
        extra = n_items - self.hours.shape[0]
        if extra > 0:
            self.hours = np.vstack([self.hours, np.zeros((extra, 24), dtype=np.float32)])
            self.days = np.vstack([self.days, np.zeros((extra, 7), dtype=np.float32)])

    def observe(self, item: int, ts: float) -> None:
        hour, day = hour_and_day(ts, self.utc_offset_s)
        self.hours[item, hour] += 1.0
        self.days[item, day] += 1.0
        self.total_hours[hour] += 1.0
        self.total_days[day] += 1.0

    def lift(
        self,
        rows: npt.NDArray[np.int64],
        now: float,
        plays: npt.NDArray[np.float64] | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """log(P(hour | track) / P(hour)) and the same for the weekday, for ``rows``
        (``plays``: their play counts, when the caller has them)."""
        hour, day = hour_and_day(now, self.utc_offset_s)
        hours = self.hours
        mine = (
            0.5 * hours[rows, (hour - 1) % 24]
            + hours[rows, hour]
            + 0.5 * hours[rows, (hour + 1) % 24]
        )
        if plays is None:
            plays = self.days[rows].sum(axis=1)
        total = max(float(self.total_hours.sum()), 1.0)
        overall = (
            0.5 * self.total_hours[(hour - 1) % 24]
            + self.total_hours[hour]
            + 0.5 * self.total_hours[(hour + 1) % 24]
        ) / total
        overall = max(overall, 1e-3)
        p_hour = (mine + _PRIOR * overall) / (plays + _PRIOR)
        day_overall = max(self.total_days[day] / total, 1e-3)
        p_day = (self.days[rows, day] + _PRIOR * day_overall) / (plays + _PRIOR)
        return (
            np.log(p_hour / overall).astype(np.float32),
            np.log(p_day / day_overall).astype(np.float32),
        )
