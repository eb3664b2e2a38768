import numpy as np

from device.hw.decoders import ZxingDecoder
from device.hw.scanner import QrScanner
from device.hw.testimages import Distortion, render

BLANK = np.full((480, 640), 100, np.uint8)


class Frames:
    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = frames

    def read(self) -> np.ndarray:
        return self.frames.pop(0)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 0.1  # 10 frames a second
        return self.t


def test_a_code_held_in_view_is_reported_once_and_again_after_it_left() -> None:
    rng = np.random.default_rng(5)
    a = render("SW1:AAAA", Distortion.CLEAN, rng)
    b = render(bytes([0, 255, 128]) * 10, Distortion.NOISE, rng)
    frames = [BLANK, a, a, a, BLANK, a] + [BLANK] * 20 + [a, b, b]
    scanner = QrScanner(Frames(frames), ZxingDecoder(), release_s=1.5, monotonic=Clock())
    results = [scanner.scan() for _ in range(len(frames))]
    got = [r for r in results if r is not None]
    assert got == [b"SW1:AAAA", b"SW1:AAAA", bytes([0, 255, 128]) * 10]
    assert results[1] == b"SW1:AAAA" and results[5] is None  # a short gap is the same showing
