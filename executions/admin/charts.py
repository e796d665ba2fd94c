"""SVG chart geometry for the admin's dashboard and backtest pages: numbers in, shapes out.

Pure: no requests, no database, no time zones (times come in as the caller's local datetimes).
Templates under templates/executions/charts/ draw the shapes.
"""

import math
from dataclasses import dataclass

WIDE_CHART = 760  # width of a chart spanning the page (viewBox units, scaled to fit)
HALF_CHART = 420  # width of a chart in half the page: same text size once scaled
CHART_HEIGHT = 220
MARGIN = {"left": 56, "right": 14, "top": 14, "bottom": 34}
PALETTE = ("#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d")
NICE_STEPS = (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10)  # quarters of each are round numbers


@dataclass(frozen=True)
class Frame:
    """The plotting area of a chart inside its viewBox."""

    width: int
    height: int = CHART_HEIGHT

    @property
    def left(self) -> int:
        return MARGIN["left"]

    @property
    def right(self) -> int:
        return self.width - MARGIN["right"]

    @property
    def top(self) -> int:
        return MARGIN["top"]

    @property
    def bottom(self) -> int:
        return self.height - MARGIN["bottom"]

    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def plot_height(self) -> int:
        return self.bottom - self.top

    def context(self) -> dict:
        return {
            "width": self.width,
            "height": self.height,
            "plot_left": self.left,
            "plot_right": self.right,
            "plot_bottom": self.bottom,
            "label_y": self.bottom + 18,
            "center_x": (self.left + self.right) / 2,
            "center_y": (self.top + self.bottom) / 2,
        }


def nice_ceiling(value: float) -> float:
    """The smallest round number at least `value` whose quarters are round too (axis maxima)."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in NICE_STEPS:
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _axis(frame: Frame, maximum: float, unit: str = "") -> list[dict]:
    ticks = []
    for index in range(5):
        value = maximum * index / 4
        label = f"{value:,.0f}" if maximum >= 8 or value.is_integer() else f"{value:,.2f}"
        ticks.append({"y": frame.top + frame.plot_height * (1 - index / 4), "label": label + unit})
    return ticks


def _time_labels(frame: Frame, buckets: list[dict]) -> list[dict]:
    """A few x-axis labels: hours for a day, days for a week."""
    count = len(buckets)
    wanted = 8 if frame.width >= WIDE_CHART else 5
    labels = []
    for index, item in enumerate(buckets):
        start = item["bucket_start"]
        if count <= 48:
            if index % max(round(count / wanted), 1):
                continue
            text = start.strftime("%H:%M")
        else:
            every_days = 1 if frame.width >= WIDE_CHART else 2
            if start.hour != 0 or start.toordinal() % every_days:
                continue
            text = start.strftime("%a %d")
        x = frame.left + frame.plot_width * (index + 0.5) / count
        labels.append({"x": x, "text": text})
    return labels


def _bucket_title(item: dict) -> str:
    return f"{item['bucket_start']:%a %d %b %H:%M}"


def bar_chart(buckets: list[dict]) -> dict:
    """Executions per bucket (`bucket_start` a local datetime), successes and failures stacked."""
    frame = Frame(WIDE_CHART)
    maximum = nice_ceiling(max((b["count"] for b in buckets), default=0))
    slot = frame.plot_width / max(len(buckets), 1)
    bars = []
    for index, item in enumerate(buckets):
        failures = item["count"] - item["success_count"]
        ok_height = frame.plot_height * item["success_count"] / maximum
        failed_height = frame.plot_height * failures / maximum
        bars.append(
            {
                "x": frame.left + slot * index + slot * 0.12,
                "width": max(slot * 0.76, 1),
                "ok_y": frame.bottom - ok_height,
                "ok_height": ok_height,
                "failed_y": frame.bottom - ok_height - failed_height,
                "failed_height": failed_height,
                "title": f"{_bucket_title(item)}: {item['count']:,} executions, "
                f"{failures:,} failed",
            }
        )
    return {
        "bars": bars,
        "ticks": _axis(frame, maximum),
        "labels": _time_labels(frame, buckets),
        **frame.context(),
    }


def line_chart(buckets: list[dict], key: str, *, scale: float = 1, unit: str = "") -> dict:
    """One value per bucket as a line; buckets without a value break the line."""
    frame = Frame(HALF_CHART)
    values = [None if b[key] is None else b[key] * scale for b in buckets]
    present = [v for v in values if v is not None]
    maximum = 100 if unit == "%" else nice_ceiling(max(present, default=0))
    count = max(len(buckets), 1)
    segments, current, points = [], [], []
    for index, value in enumerate(values):
        if value is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x = frame.left + frame.plot_width * (index + 0.5) / count
        y = frame.top + frame.plot_height * (1 - value / maximum)
        current.append(f"{x:.1f},{y:.1f}")
        title = f"{_bucket_title(buckets[index])}: {value:,.2f}{unit}"
        points.append({"x": x, "y": y, "title": title})
    if current:
        segments.append(" ".join(current))
    return {
        "segments": segments,
        "points": points if len(points) <= 48 else [],
        "ticks": _axis(frame, maximum, unit),
        "labels": _time_labels(frame, buckets),
        "empty": not present,
        **frame.context(),
    }


def distribution_chart(recommendations: dict[str, int]) -> dict:
    """Horizontal bars: one per action recommendation, largest first (at most ten)."""
    ordered = sorted(recommendations.items(), key=lambda item: (-item[1], item[0]))[:10]
    total = sum(recommendations.values()) or 1
    maximum = max((count for _, count in ordered), default=1) or 1
    row_height, label_width, width = 26, 150, WIDE_CHART
    bar_space = width - label_width - 110
    rows = []
    for index, (name, count) in enumerate(ordered):
        bar_width = max(bar_space * count / maximum, 2)
        rows.append(
            {
                "y": index * row_height + 6,
                "text_y": index * row_height + 19,
                "name": name,
                "width": bar_width,
                "count": count,
                "share": 100 * count / total,
                "color": PALETTE[index % len(PALETTE)],
                "value_x": label_width + bar_width + 8,
            }
        )
    return {
        "rows": rows,
        "width": width,
        "height": max(len(rows) * row_height + 10, 40),
        "label_width": label_width,
        "label_x": label_width - 8,
    }


def _edge_label(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def histogram_chart(bins: list[dict]) -> dict:
    """Total points before and after, side by side per bin, on one count axis."""
    frame = Frame(WIDE_CHART)
    largest = max((max(b["before"], b["after"]) for b in bins), default=0)
    maximum = nice_ceiling(largest)
    if maximum < 8:  # counts: keep the quarter ticks whole numbers
        maximum = 4 * max(math.ceil(largest / 4), 1)
    slot = frame.plot_width / max(len(bins), 1)
    groups = []
    for index, item in enumerate(bins):
        x = frame.left + slot * index
        span = f"{_edge_label(item['from'])} to {_edge_label(item['to'])} points"
        pair = []
        for offset, key, css in ((0.12, "before", "bar-before"), (0.5, "after", "bar-after")):
            height = frame.plot_height * item[key] / maximum
            pair.append(
                {
                    "x": x + slot * offset,
                    "y": frame.bottom - height,
                    "width": slot * 0.38,
                    "height": height,
                    "css": css,
                    "title": f"{span}, {key}: {item[key]:,} inputs",
                }
            )
        groups.append(pair)
    edges = [item["from"] for item in bins] + [bins[-1]["to"]] if bins else []
    every = 1 if len(edges) <= 12 else math.ceil(len(edges) / 11)
    labels = [
        {"x": frame.left + slot * index, "text": _edge_label(edge)}
        for index, edge in enumerate(edges)
        if index % every == 0
    ]
    return {
        "groups": groups,
        "ticks": _axis(frame, maximum),
        "labels": labels,
        **frame.context(),
    }
