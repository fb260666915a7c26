"""Plausible handwritten strokes for the digits 0–9, as polylines in a unit box (0..1).

Shared by the small-digit E2E test and bench/small_digits.py. `place` maps a digit into a
square of the pad (fractions of the pad) so the same strokes can be drawn small or large.
"""

from __future__ import annotations

import math

Point = tuple[float, float]
Digit = list[list[Point]]  # strokes


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int) -> list[Point]:
    """Points on an ellipse from angle a0 to a1 (degrees, 0 = right, 90 = down)."""
    return [
        (
            cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
            cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n)),
        )
        for i in range(n + 1)
    ]


DIGITS: dict[int, Digit] = {
    0: [_arc(0.5, 0.5, 0.3, 0.48, -100, 265, 30)],
    1: [[(0.42, 0.15), (0.55, 0.02), (0.54, 0.35), (0.52, 0.7), (0.5, 1.0)]],
    2: [
        [
            *_arc(0.5, 0.3, 0.32, 0.28, 190, 370, 12),
            (0.62, 0.6),
            (0.4, 0.8),
            (0.15, 0.99),
            (0.5, 0.97),
            (0.88, 0.98),
        ]
    ],
    3: [_arc(0.48, 0.26, 0.3, 0.24, 200, 450, 12) + _arc(0.48, 0.74, 0.34, 0.26, -90, 160, 14)],
    4: [
        [(0.55, 0.0), (0.32, 0.4), (0.12, 0.65), (0.5, 0.66), (0.9, 0.64)],
        [(0.66, 0.3), (0.64, 0.65), (0.63, 1.0)],
    ],
    5: [[(0.8, 0.02), (0.3, 0.03), (0.25, 0.45), *_arc(0.5, 0.7, 0.33, 0.29, -125, 150, 14)]],
    6: [[(0.7, 0.0), (0.45, 0.25), (0.24, 0.55), *_arc(0.5, 0.74, 0.28, 0.25, 180, -170, 18)]],
    7: [[(0.12, 0.05), (0.5, 0.03), (0.88, 0.04), (0.68, 0.4), (0.52, 0.7), (0.42, 1.0)]],
    8: [_arc(0.5, 0.26, 0.25, 0.24, 90, 450, 16) + _arc(0.5, 0.74, 0.3, 0.25, -90, 270, 16)],
    9: [[*_arc(0.45, 0.28, 0.3, 0.26, 0, 360, 18), (0.73, 0.5), (0.66, 0.75), (0.6, 1.0)]],
}

# Square boxes (x, y, side) in pad fractions: four corners at an eighth of the pad.
SMALL = 0.125
CORNERS: list[tuple[float, float]] = [(0.05, 0.05), (0.82, 0.05), (0.05, 0.82), (0.82, 0.82)]


def place(digit: Digit, x: float, y: float, side: float) -> Digit:
    """The digit's strokes in a side×side square at (x, y), narrower than tall like writing."""
    return [[(x + side * (0.15 + 0.7 * px), y + side * py) for px, py in s] for s in digit]
