"""Bar charts drawn on the server as SVG (no script): each bar carries its figure, and the page shows
the same figures in a table beside it. Pure: values in, geometry out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, LABEL_H, TOP = 720, 220, 40, 20


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    shown: str  # the figure as printed above the bar


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    width: int = WIDTH
    height: int = HEIGHT + LABEL_H
    base: int = HEIGHT
    translate: bool = False  # the labels are msgids (states), translated on the page


def bar_chart(
    title: str, values: Sequence[tuple[str, float]], *, percent: bool = False, translate: bool = False
) -> Chart:
    top = max((v for _, v in values), default=0) or 1
    slot = WIDTH / max(1, len(values))
    bars = []
    for i, (label, value) in enumerate(values):
        h = (HEIGHT - TOP) * value / top
        shown = f"{value:.0%}" if percent else f"{value:g}"
        bars.append(Bar(i * slot + slot * 0.15, HEIGHT - h, slot * 0.7, h, label, value, shown))
    return Chart(title, tuple(bars), translate=translate)
