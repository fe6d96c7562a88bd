"""The drawings of LOLWUT VERSION 5 and 6, as Redis 7.0 draws them (random each time).

- 5: Georg Nees's "Schotter": rows of squares that rotate and drift more the lower they are,
  drawn with Bresenham lines on a 1-bit canvas and printed as braille (2x4 pixels a character).
- 6: a skyline of skyscrapers in the four grays of a colour terminal (each pixel one ANSI
  coloured space): two layers of plain ones behind, a row with lit windows in front.

Arguments are parsed and clamped as Redis does; what a drawing looks like is random.
"""

from __future__ import annotations

import math
import random

from .args import parse_int
from .connection import REDIS_VERSION

_rand = random.Random()


class Canvas:
    """A grid of small integer colours; writes outside it are ignored, reads give 0."""

    def __init__(self, width: int, height: int, color: int = 0):
        self.width, self.height = width, height
        self.pixels = bytearray([color]) * (width * height)

    def put(self, x: int, y: int, color: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[x + y * self.width] = color

    def get(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[x + y * self.width]
        return 0

    def line(self, x1: int, y1: int, x2: int, y2: int, color: int) -> None:
        """Bresenham's line, both ends included."""
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        sx = 1 if x1 < x2 else -1
        sy = 1 if y1 < y2 else -1
        err = dx - dy
        while True:
            self.put(x1, y1, color)
            if x1 == x2 and y1 == y2:
                return
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x1 += sx
            if e2 < dx:
                err += dx
                y1 += sy

    def square(self, x: int, y: int, size: float, angle: float, color: int) -> None:
        """A square centred on x,y: its corners are on a circle, a quarter turn apart."""
        radius = round(size / 1.4142135623)
        k = math.pi / 4 + angle
        corners = []
        for _ in range(4):
            corners.append((round(math.sin(k) * radius + x), round(math.cos(k) * radius + y)))
            k += math.pi / 2
        for j in range(4):
            (ax, ay), (bx, by) = corners[j], corners[(j + 1) % 4]
            self.line(ax, ay, bx, by, color)


def _clamp(v: int, lo: int, hi: int) -> int:
    return lo if v < lo else hi if v > hi else v


def _args(args: list, defaults: list) -> list:
    return [parse_int(a) for a in args[:len(defaults)]] + defaults[len(args):]


# -- VERSION 5: Schotter ----------------------------------------------------------------------


def schotter(cols: int, per_row: int, per_col: int) -> Canvas:
    width = cols * 2
    padding = 2 if width > 4 else 0
    side = (width - padding * 2) / per_row
    canvas = Canvas(width, int(side * per_col + padding * 2))
    for y in range(per_col):
        for x in range(per_row):
            sx = int(x * side + side / 2 + padding)
            sy = int(y * side + side / 2 + padding)
            angle = 0.0
            if y > 1:  # the lower the row, the more disorder
                r1, r2, r3 = (_rand.random() / per_col * y for _ in range(3))
                r1, r2, r3 = (-r if _rand.getrandbits(1) else r for r in (r1, r2, r3))
                angle = r1
                sx = int(sx + r2 * side / 3)
                sy = int(sy + r3 * side / 3)
            canvas.square(sx, sy, side, angle, 1)
    return canvas


def braille(canvas: Canvas) -> str:
    """Each 2x4 block of pixels as one braille character (U+2800 + the dot bits)."""
    rows = []
    get = canvas.get
    for y in range(0, canvas.height, 4):
        chars = []
        for x in range(0, canvas.width, 2):
            bits = (get(x, y) | get(x, y + 1) << 1 | get(x, y + 2) << 2 | get(x + 1, y) << 3
                    | get(x + 1, y + 1) << 4 | get(x + 1, y + 2) << 5 | get(x, y + 3) << 6
                    | get(x + 1, y + 3) << 7)
            chars.append(chr(0x2800 + bits))
        rows.append("".join(chars))
        if y != canvas.height - 1:  # Redis's test: most heights end with a newline too
            rows.append("\n")
    return "".join(rows)


def lolwut5(args: list) -> bytes:
    """LOLWUT VERSION 5 [columns] [squares per row] [squares per column]."""
    cols, per_row, per_col = _args(args, [66, 8, 12])
    art = braille(schotter(_clamp(cols, 1, 1000), _clamp(per_row, 1, 200),
                           _clamp(per_col, 1, 200)))
    return (art + "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ").encode() + \
        REDIS_VERSION + b"\n"


# -- VERSION 6: the skyline -------------------------------------------------------------------

_ANSI = {0: "0;30;40m", 1: "0;90;100m", 2: "0;37;47m", 3: "0;97;107m"}  # black .. white


def skyscraper(canvas: Canvas, xoff: int, width: int, height: int, windows: bool,
               color: int) -> None:
    bottom = canvas.height - 1
    top = bottom - height + 1
    for y in range(bottom, top - 1, -1):
        for x in range(xoff, xoff + width):
            if y == top and (x <= xoff + 1 or x >= xoff + width - 2):
                continue  # the roof is narrower
            c = color
            if windows and xoff + 1 < x < xoff + width - 2 and top + 1 < y < bottom - 1:
                relx, rely = x - (xoff + 1), y - (top + 1)
                if (relx // 2) % 2 and rely % 2:  # windows: two pixels wide, one tall
                    c = color
                    while c == color:
                        c = 1 + _rand.randrange(2)
                    if relx % 2:
                        c = canvas.get(x - 1, y)
            canvas.put(x, y, c)


def skyline(canvas: Canvas) -> None:
    h = canvas.height
    for color in (2, 1):  # the lighter layer first, so it stays behind
        offset = -10
        while offset < canvas.width:
            offset += _rand.randrange(8)
            width = 10 + _rand.randrange(9)
            height = h // 2 + (_rand.randrange(1 << 31) % h) // (2 if color == 2 else 3)
            skyscraper(canvas, offset, width, height, False, color)
            offset += width // 2 if color == 2 else width + 1
    offset = -10
    while offset < canvas.width:
        offset += _rand.randrange(8)
        width = 5 + _rand.randrange(14)
        if width % 4:
            width += width % 3
        height = h // 3 + (_rand.randrange(1 << 31) % h) // 2
        skyscraper(canvas, offset, width, height, True, 0)
        offset += width + 5


def lolwut6(args: list) -> bytes:
    """LOLWUT VERSION 6 [columns] [rows]."""
    cols, rows = _args(args, [80, 20])
    canvas = Canvas(_clamp(cols, 1, 1000), _clamp(rows, 1, 1000), 3)
    skyline(canvas)
    cell = [f"\033[{_ANSI.get(c, _ANSI[0])} \033[0m" for c in range(256)]
    w = canvas.width
    lines = ["".join(map(cell.__getitem__, canvas.pixels[y * w:(y + 1) * w]))
             for y in range(canvas.height)]
    text = "\n".join(lines) + ("\nDedicated to the 8 bit game developers of past and present.\n"
                               "Original 8 bit image from Plaguemon by hikikomori. Redis ver. ")
    return text.encode() + REDIS_VERSION + b"\n"
