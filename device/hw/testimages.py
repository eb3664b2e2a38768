"""Camera-like QR frames for the decoder benchmark and tests: what a Pi camera sees of a phone screen.

Each distortion is one of the ways phone screens go wrong at a canteen till: tilt (perspective), focus
(blur), sensor noise, a dimmed screen (low contrast), the screen's pixel grid beating against the sensor's
(moiré), and a ceiling light reflected on the glass (glare). Frames are 8-bit grayscale, the lores Y plane.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

import base45
import numpy as np
import numpy.typing as npt
import segno
from PIL import Image, ImageFilter

Frame = npt.NDArray[np.uint8]
WIDTH, HEIGHT = 640, 480


class Distortion(enum.StrEnum):
    CLEAN = "clean"
    PERSPECTIVE = "perspective"
    BLUR = "blur"
    NOISE = "noise"
    LOW_CONTRAST = "low_contrast"
    MOIRE = "moire"
    GLARE = "glare"
    COMBINED = "combined"  # tilt + mild blur + noise + dim: the worst realistic case


@dataclass(frozen=True, slots=True)
class Severity:
    """How hard each distortion is. REALISTIC is what a canteen camera sees; HARSH measures the margin."""

    tilt: float  # corner displacement as a fraction of the code's side (0.18 ≈ 25-30° of tilt)
    blur: tuple[float, float]  # Gaussian radius range, pixels
    noise: tuple[float, float]  # sensor noise sigma range, grey levels
    combined_tilt: float
    combined_blur: tuple[float, float]
    combined_noise: float


REALISTIC = Severity(0.18, (1.2, 2.2), (14, 24), 0.12, (0.6, 1.0), 6.0)
HARSH = Severity(0.22, (1.4, 2.6), (16, 30), 0.14, (0.8, 1.3), 8.0)


@dataclass(frozen=True, slots=True)
class Sample:
    distortion: Distortion
    payload: bytes
    frame: Frame


def qr_modules(payload: bytes | str) -> npt.NDArray[np.bool_]:
    """The QR symbol as a boolean module matrix (True = dark), quiet zone of 4 modules included.

    Text goes in as text (segno picks alphanumeric mode for `SW1:` + base45); bytes go in byte mode.
    """
    qr = segno.make_qr(payload, error="m", boost_error=False)
    return np.array(list(qr.matrix_iter(scale=1, border=4)), dtype=bool)


def render(
    payload: bytes | str,
    distortion: Distortion,
    rng: np.random.Generator,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    severity: Severity = REALISTIC,
) -> Frame:
    """One camera frame of a phone screen showing `payload`'s QR code, with one kind of distortion."""
    w, h = size
    modules = qr_modules(payload)
    side = int(rng.uniform(0.55, 0.75) * h)  # the code fills about 2/3 of the frame height at 10-15 cm
    tilted = distortion in (Distortion.PERSPECTIVE, Distortion.COMBINED)
    sv = severity
    strength = (sv.combined_tilt if distortion is Distortion.COMBINED else sv.tilt) if tilted else 0.0
    # The whole code stays in view, tilted corners included: the camera window frames the phone rest.
    side = min(side, int((h - 4) / (1 + 2 * strength)))
    margin = int(strength * side) + 1
    code = Image.fromarray(np.where(modules, 0, 255).astype(np.uint8)).resize(
        (side, side), Image.Resampling.NEAREST
    )
    canvas = Image.new("L", (w, h), int(rng.integers(40, 90)))  # phone bezel and counter around the screen
    x0 = int(rng.integers(margin, w - side - margin))
    y0 = int(rng.integers(margin, max(margin + 1, h - side - margin)))
    canvas.paste(code, (x0, y0))
    if tilted:
        canvas = _tilt(canvas, (x0, y0, side), rng, strength=strength)
    arr = np.asarray(canvas, dtype=np.float64)
    if distortion in (Distortion.LOW_CONTRAST, Distortion.COMBINED):
        lo, hi = rng.uniform(50, 80), rng.uniform(110, 140)  # a screen at minimum brightness
        arr = lo + arr / 255.0 * (hi - lo)
    if distortion is Distortion.MOIRE:
        arr = _moire(arr, rng)
    if distortion is Distortion.GLARE:
        arr = _glare(arr, rng, (x0, y0, side))
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if distortion is Distortion.BLUR:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(*sv.blur))))
    elif distortion is Distortion.COMBINED:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(*sv.combined_blur))))
    out = np.asarray(img, dtype=np.float64)
    if distortion is Distortion.NOISE:
        out = out + rng.normal(0.0, rng.uniform(*sv.noise), out.shape)
    elif distortion is Distortion.COMBINED:
        out = out + rng.normal(0.0, sv.combined_noise, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def _tilt(
    img: Image.Image, box: tuple[int, int, int], rng: np.random.Generator, strength: float
) -> Image.Image:
    """Perspective as if the phone were tilted ~20-30° away from the camera, corners moved at random."""
    x0, y0, side = box
    src = [(x0, y0), (x0 + side, y0), (x0 + side, y0 + side), (x0, y0 + side)]
    jitter = strength * side
    dst = [(x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter)) for x, y in src]
    coeffs = _perspective_coeffs(dst, src)
    return img.transform(
        img.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR, fillcolor=60
    )


def _perspective_coeffs(
    dst: list[tuple[float, float]], src: list[tuple[int, int]]
) -> tuple[float, float, float, float, float, float, float, float]:
    """PIL's PERSPECTIVE maps output (dst) pixels back to input (src) pixels."""
    rows: list[list[float]] = []
    rhs: list[float] = []
    for (u, v), (x, y) in zip(dst, src, strict=True):
        rows.append([u, v, 1, 0, 0, 0, -x * u, -x * v])
        rows.append([0, 0, 0, u, v, 1, -y * u, -y * v])
        rhs += [x, y]
    c = np.linalg.solve(np.array(rows), np.array(rhs))
    return (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])


def _moire(arr: npt.NDArray[np.float64], rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Beat between the screen's pixel grid and the sensor: slanted fringes at a few pixels' period."""
    h, w = arr.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(3.0, 9.0)
    phase = (xx * np.cos(angle) + yy * np.sin(angle)) * (2 * np.pi / period)
    depth = rng.uniform(0.2, 0.35)  # fringes darken the whites and lift the blacks
    fringe = np.sin(phase).astype(np.float64)
    out: npt.NDArray[np.float64] = arr * (1 - depth * (0.5 + 0.5 * fringe)) + 255 * depth * 0.25 * (
        0.5 - 0.5 * fringe
    )
    return out


def _glare(
    arr: npt.NDArray[np.float64], rng: np.random.Generator, box: tuple[int, int, int]
) -> npt.NDArray[np.float64]:
    """A light's reflection on the glass: a soft bright blob over part of the code that washes out the blacks."""
    x0, y0, side = box
    h, w = arr.shape
    cx = x0 + rng.uniform(0.2, 0.8) * side
    cy = y0 + rng.uniform(0.2, 0.8) * side
    r = rng.uniform(0.12, 0.22) * side
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)).astype(np.float64)
    strength = rng.uniform(0.45, 0.7)
    out: npt.NDArray[np.float64] = arr + (255 - arr) * strength * blob
    return out


def sample_payloads(rng: np.random.Generator) -> tuple[str, bytes]:
    """One text payload shaped like the scheme's QR (`SW1:` + base45 of ~150 bytes) and one binary payload."""
    cose_like = rng.integers(0, 256, 150, dtype=np.uint8).tobytes()
    text = "SW1:" + base45.b45encode(cose_like).decode("ascii")
    binary = rng.integers(0, 256, 120, dtype=np.uint8).tobytes()
    return text, binary


def generate(per_distortion: int, seed: int = 20240301, severity: Severity = REALISTIC) -> Iterator[Sample]:
    """A fixed, reproducible set: `per_distortion` frames of each distortion, each with a fresh payload."""
    rng = np.random.default_rng(seed)
    for distortion in Distortion:
        for i in range(per_distortion):
            text, binary = sample_payloads(rng)
            payload: bytes | str = binary if i % 4 == 3 else text  # a quarter binary, the rest scheme-shaped
            frame = render(payload, distortion, rng, severity=severity)
            yield Sample(
                distortion, payload if isinstance(payload, bytes) else payload.encode("ascii"), frame
            )
