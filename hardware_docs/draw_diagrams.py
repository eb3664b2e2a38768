"""Draws hardware_docs/wiring.png (the terminal's wiring on the 40-pin header) and selftest_qr.png.

Run: .venv/bin/python hardware_docs/draw_diagrams.py   (the PNGs are committed; rerun after a pin change)
"""

from __future__ import annotations

from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).parent
W, H = 1600, 1120
FONT = ImageFont.load_default(size=20)
SMALL = ImageFont.load_default(size=16)
TITLE = ImageFont.load_default(size=30)

# Physical pin → (label, colour) for the pins the terminal uses (default wiring: PN532 over UART).
USED = {
    1: ("3V3", "#d33"),
    2: ("5V", "#a00"),
    6: ("GND", "#222"),
    8: ("GPIO14 TXD", "#e80"),
    10: ("GPIO15 RXD", "#08c"),
    11: ("GPIO17", "#2a2"),
    9: ("GND", "#222"),
    13: ("GPIO27", "#a3c"),
    14: ("GND", "#222"),
    31: ("GPIO6", "#777"),
    3: ("GPIO2 SDA", "#06a"),
    5: ("GPIO3 SCL", "#0aa"),
    17: ("3V3", "#d33"),
    20: ("GND", "#222"),
}
HEADER_X, HEADER_Y, PITCH = 700, 140, 44


def pin_xy(pin: int) -> tuple[int, int]:
    row = (pin - 1) // 2
    col = (pin - 1) % 2
    return HEADER_X + col * 60, HEADER_Y + row * PITCH


Line = tuple[str, int | None]  # text, and the header pin it is wired to (None: no wire)


def box(
    d: ImageDraw.ImageDraw,
    xy: tuple[int, int, int, int],
    title: str,
    lines: list[Line],
    lane: int,
    wires: list[tuple[int, tuple[int, int], int]],
) -> None:
    """A part with its connections; each wired line gets a wire from its text row to its pin."""
    d.rounded_rectangle(xy, radius=12, outline="#333", width=3, fill="#f7f7f2")
    d.text((xy[0] + 14, xy[1] + 10), title, font=FONT, fill="#000")
    left = xy[2] < HEADER_X
    for i, (text, pin) in enumerate(lines):
        y = xy[1] + 52 + i * 26
        d.text((xy[0] + 14, y), text, font=SMALL, fill="#333", anchor="lm")
        if pin is not None:
            wires.append((pin, (xy[2] if left else xy[0], y), lane + 16 * len(wires)))


def draw_wire(d: ImageDraw.ImageDraw, pin: int, to: tuple[int, int], lane_x: int) -> None:
    """Pins in the far column are reached between two rows, around the outside, never across another pin."""
    x, y = pin_xy(pin)
    colour = USED[pin][1]
    from_left = to[0] < HEADER_X
    far = (pin % 2 == 0) if from_left else (pin % 2 == 1)
    if not far:
        d.line([(x, y), (lane_x, y), (lane_x, to[1]), to], fill=colour, width=4)
        return
    gap_y = y - PITCH // 2 if from_left else y + PITCH // 2
    outer_x = x + 26 if from_left else x - 26
    d.line(
        [to, (lane_x, to[1]), (lane_x, gap_y), (outer_x, gap_y), (outer_x, y), (x, y)], fill=colour, width=4
    )


def wiring() -> Image.Image:
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    d.text(
        (40, 30),
        "School-meal terminal: wiring (Raspberry Pi 4 / Pi 5, same 40-pin header)",
        font=TITLE,
        fill="#000",
    )
    d.text(
        (40, 72),
        "Physical pin numbers in circles; BCM GPIO names beside them. PN532 shown on UART (default).",
        font=SMALL,
        fill="#444",
    )
    d.rounded_rectangle(
        (HEADER_X - 26, HEADER_Y - 28, HEADER_X + 86, HEADER_Y + 19 * PITCH + 28),
        radius=10,
        outline="#333",
        width=3,
        fill="#1d5c2e",
    )
    left_wires: list[tuple[int, tuple[int, int], int]] = []
    right_wires: list[tuple[int, tuple[int, int], int]] = []
    box(
        d,
        (40, 130, 440, 360),
        "PN532 NFC module (UART / HSU)",
        [
            ("mode switches: SEL0 off, SEL1 off", None),
            ("VCC  <- pin 1 (3V3)", 1),
            ("GND  <- pin 6", 6),
            ("RXD  <- pin 8 (GPIO14 TXD)", 8),
            ("TXD  -> pin 10 (GPIO15 RXD)", 10),
            ("RSTPDN <- pin 31 (GPIO6)", 31),
            ("I2C / SPI: see the tables in wiring.md", None),
        ],
        470,
        left_wires,
    )
    box(
        d,
        (40, 560, 440, 780),
        "DS3231 RTC (optional, Pi 4 only)",
        [
            ("VCC <- pin 17 (3V3)", 17),
            ("GND <- pin 20", 20),
            ("SDA <- pin 3 (GPIO2)", 3),
            ("SCL <- pin 5 (GPIO3)", 5),
            ("Pi 5: built-in RTC, battery on J5", None),
            ("dtoverlay=i2c-rtc,ds3231", None),
        ],
        470,
        left_wires,
    )
    box(
        d,
        (1060, 130, 1560, 300),
        "Status LED (5 mm, green)",
        [
            ("pin 11 (GPIO17) -> 220 ohm -> anode (long leg)", 11),
            ("cathode (short leg) -> pin 9 (GND)", 9),
            ("about 5 mA: under the GPIO's 16 mA", None),
            ("behind the enclosure's light window", None),
        ],
        800,
        right_wires,
    )
    box(
        d,
        (1060, 360, 1560, 620),
        "Buzzer (active 5 V) via NPN transistor",
        [
            ("pin 13 (GPIO27) -> 1 kohm -> 2N2222 base", 13),
            ("emitter -> pin 14 (GND)", 14),
            ("collector -> buzzer (-)", None),
            ("buzzer (+) <- pin 2 (5V)", 2),
            ("1N4148 across buzzer, cathode to +5V", None),
            ("GPIO never carries the ~30 mA", None),
        ],
        800,
        right_wires,
    )
    box(
        d,
        (1060, 680, 1560, 880),
        "Camera Module 3 (CSI ribbon)",
        [
            ("Pi 4: CSI port, contacts towards HDMI", None),
            ("Pi 5: CAM/DISP 0 with a 22-pin cable", None),
            ("looks up through the counter window", None),
            ("12 cm to the phone rest: see camera.md", None),
        ],
        800,
        right_wires,
    )
    for pin, to, lane in left_wires:
        draw_wire(d, pin, to, HEADER_X - 60 - (lane - 470))
    for pin, to, lane in right_wires:
        draw_wire(d, pin, to, HEADER_X + 120 + (lane - 800))
    for pin in range(1, 41):
        x, y = pin_xy(pin)
        used = pin in USED
        d.ellipse((x - 16, y - 16, x + 16, y + 16), fill=USED[pin][1] if used else "#cfc8a0", outline="#000")
        d.text((x, y), str(pin), font=SMALL, fill="white" if used else "#000", anchor="mm")
    for pin, (label, _) in USED.items():
        x, y = pin_xy(pin)
        anchor, lx = ("rm", HEADER_X - 34) if pin % 2 else ("lm", HEADER_X + 94)
        bbox = d.textbbox((lx, y), label, font=SMALL, anchor=anchor)
        d.rectangle((bbox[0] - 3, bbox[1] - 2, bbox[2] + 3, bbox[3] + 2), fill="white", outline=USED[pin][1])
        d.text((lx, y), label, font=SMALL, fill="#000", anchor=anchor)
    d.text((40, 1060), "Generated by hardware_docs/draw_diagrams.py", font=SMALL, fill="#666")
    return img


def selftest_qr() -> Image.Image:
    qr = segno.make_qr(b"SW1-SELFTEST", error="h")
    out = HERE / "selftest_qr.png"
    qr.save(str(out), scale=12, border=4)
    return Image.open(out)


if __name__ == "__main__":
    wiring().save(HERE / "wiring.png", optimize=True)
    selftest_qr()
    print("wrote", HERE / "wiring.png", HERE / "selftest_qr.png")
