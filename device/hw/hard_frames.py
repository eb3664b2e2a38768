"""The hard decoding set: what the Pi camera sees of a pass at the edge of what is readable.

Built for the decoder bench and its tests, seeded and reproducible. Each frame is 640x480 grayscale and
shows the scheme's own `SW1:` text (a signed voucher token, error correction level M) on a phone screen,
at any rotation, with one distortion at a hard level, or a mixture:

- small: QR modules of 1.6-2.6 px (the phone held far, or a small screen);
- blur: Gaussian blur of sigma 1.2-2.2 px (out of focus, or moving);
- low_contrast: 25-60 grey levels between dark and light modules and a 20-45 % lighting gradient
  across the code (a dimmed screen under a window);
- noise: sensor noise of sigma 12-25 grey levels (a dim canteen, high gain);
- perspective: corners moved by 24-32 % of the code's side at random (tilted by 45° or more);
- mixture: two or three of these at random, each drawn from its own range, except that a blur wider
  than 0.6 of the module pitch is not combined with small modules: that erases the pattern for any
  decoder (the modules' contrast falls below 1 %).

Frames are drawn from a high-resolution code through the perspective map at twice the frame's size and
box-filtered down, so fractional module sizes look as a sensor sees them, not as nearest-neighbour steps.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

from shared_crypto import SigningKey, VoucherToken, issue_qr_text

from .testimages import HEIGHT, WIDTH, Frame, _perspective_coeffs, qr_modules

HI_RES = 8  # px per module of the source code image
SUPERSAMPLE = 2


class Hard(enum.StrEnum):
    SMALL = "small"
    BLUR = "blur"
    LOW_CONTRAST = "low_contrast"
    NOISE = "noise"
    PERSPECTIVE = "perspective"
    MIXTURE = "mixture"


SINGLE = (Hard.SMALL, Hard.BLUR, Hard.LOW_CONTRAST, Hard.NOISE, Hard.PERSPECTIVE)


@dataclass(frozen=True, slots=True)
class Params:
    """Everything one frame was drawn with (kept with each sample: the bench reports by it)."""

    module_px: float
    rotation_deg: float
    tilt: float  # corner displacement as a fraction of the code's side
    blur_sigma: float
    dark: float
    light: float
    gradient: float  # fraction by which the light falls across the code
    noise_sigma: float
    applied: tuple[Hard, ...]


@dataclass(frozen=True, slots=True)
class HardSample:
    kind: Hard
    payload: bytes
    frame: Frame
    params: Params


def draw_params(kind: Hard, rng: np.random.Generator) -> Params:
    applied: tuple[Hard, ...]
    if kind is Hard.MIXTURE:
        n = int(rng.integers(2, 4))
        applied = tuple(SINGLE[i] for i in sorted(rng.choice(len(SINGLE), size=n, replace=False)))
    else:
        applied = (kind,)
    module = rng.uniform(1.6, 2.6) if Hard.SMALL in applied else rng.uniform(3.5, 5.5)
    blur = rng.uniform(1.2, 2.2) if Hard.BLUR in applied else rng.uniform(0.3, 0.7)
    if Hard.SMALL in applied and Hard.BLUR in applied:
        blur = min(blur, 0.6 * module)
    if Hard.LOW_CONTRAST in applied:
        contrast = rng.uniform(25, 60)
        dark = rng.uniform(40, 200 - contrast)
        gradient = rng.uniform(0.20, 0.45)
    else:
        contrast = rng.uniform(140, 200)
        dark = rng.uniform(15, 40)
        gradient = rng.uniform(0.0, 0.10)
    return Params(
        module_px=float(module),
        rotation_deg=float(rng.uniform(-180, 180)),
        tilt=float(rng.uniform(0.24, 0.32) if Hard.PERSPECTIVE in applied else rng.uniform(0.0, 0.06)),
        blur_sigma=float(blur),
        dark=float(dark),
        light=float(dark + contrast),
        gradient=float(gradient),
        noise_sigma=float(rng.uniform(12, 25) if Hard.NOISE in applied else rng.uniform(1.5, 4)),
        applied=applied,
    )


def render_hard(
    payload: str,
    p: Params,
    rng: np.random.Generator,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    *,
    noise: bool = True,
) -> Frame:
    modules = qr_modules(payload)  # quiet zone of 4 modules included
    screen = np.pad(modules, 3, constant_values=False)  # the phone's lit screen around the quiet zone
    n = screen.shape[0]
    code = Image.fromarray(np.where(screen, 0, 255).astype(np.uint8)).resize(
        (n * HI_RES, n * HI_RES), Image.Resampling.NEAREST
    )
    w, h = size
    side = p.module_px * n  # the screen's side in frame pixels
    corners = _corners(side, p, rng, w, h)
    big = (w * SUPERSAMPLE, h * SUPERSAMPLE)
    src = [(0, 0), (n * HI_RES, 0), (n * HI_RES, n * HI_RES), (0, n * HI_RES)]
    dst = [(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in corners]
    coeffs = _perspective_coeffs(dst, src)
    mask = Image.new("L", code.size, 255)
    warped = code.transform(big, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    inside = mask.transform(big, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR)
    frame = np.asarray(warped.reduce(SUPERSAMPLE), dtype=np.float64) / 255.0  # 1 light, 0 dark
    cover = np.asarray(inside.reduce(SUPERSAMPLE), dtype=np.float64) / 255.0
    levels = p.dark + frame * (p.light - p.dark)
    bezel = rng.uniform(10, 60)  # the phone's body and the counter around the screen
    arr = cover * levels + (1 - cover) * bezel
    arr = arr * _gradient(corners, p.gradient, rng, w, h)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if p.blur_sigma > 0:
        img = img.filter(ImageFilter.GaussianBlur(p.blur_sigma))
    out = np.asarray(img, dtype=np.float64)
    if noise:
        out = out + rng.normal(0.0, p.noise_sigma, (h, w))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _corners(side: float, p: Params, rng: np.random.Generator, w: int, h: int) -> list[tuple[float, float]]:
    """The screen's corners in the frame: rotated, tilted, and wholly in view."""
    a = np.deg2rad(p.rotation_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    square = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) * side
    pts = square @ rot.T + rng.uniform(-p.tilt, p.tilt, (4, 2)) * side
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    extent = hi - lo
    scale = min(1.0, (w - 8) / extent[0], (h - 8) / extent[1])  # a big tilted code is moved back a bit
    pts, lo, extent = pts * scale, lo * scale, extent * scale
    cx = rng.uniform(4 - lo[0], max(4 - lo[0], w - 4 - lo[0] - extent[0]))
    cy = rng.uniform(4 - lo[1], max(4 - lo[1], h - 4 - lo[1] - extent[1]))
    return [(float(x + cx), float(y + cy)) for x, y in pts]


def _gradient(
    corners: list[tuple[float, float]], amount: float, rng: np.random.Generator, w: int, h: int
) -> npt.NDArray[np.float64]:
    """Light falling off by `amount` across the code, in a random direction."""
    a = rng.uniform(0, 2 * np.pi)
    d = np.array([np.cos(a), np.sin(a)])
    proj = np.array(corners) @ d
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    t = (xx * d[0] + yy * d[1] - proj.min()) / max(float(np.ptp(proj)), 1.0)
    out: npt.NDArray[np.float64] = 1.0 - amount * np.clip(t, 0.0, 1.0)
    return out


def scheme_text(rng: np.random.Generator, key: SigningKey) -> str:
    """A `SW1:` text as the pass shows it: a voucher token signed by an issuer key, random ids."""
    nbf = int(rng.integers(1_780_000_000, 1_800_000_000))
    token = VoucherToken(
        int(rng.integers(1, 2**31)),
        int(rng.integers(1, 100_000)),
        int(rng.integers(1, 50)),
        int(rng.integers(1, 3)),
        nbf,
        nbf + 300,
    )
    return issue_qr_text(key, token)


def generate_hard(per_kind: int, seed: int = 20261202) -> Iterator[HardSample]:
    """`per_kind` frames of each single distortion and of mixtures; the same frames for the same seed."""
    rng = np.random.default_rng(seed)
    key = SigningKey.from_seed(rng.integers(0, 256, 32, dtype=np.uint8).tobytes())
    for kind in Hard:
        for _ in range(per_kind):
            text = scheme_text(rng, key)
            p = draw_params(kind, rng)
            yield HardSample(kind, text.encode("ascii"), render_hard(text, p, rng), p)


# --- a phone brought to the camera: one second at 15 frames/s ----------------------------------------------
FPS = 15
EXPOSURE_S = 1 / 60  # indoor auto-exposure: the blur is the distance moved while the shutter is open
SETTLE_S = 0.12  # the hand's approach slows by e every 120 ms
TREMOR_PX_S = (20.0, 60.0)  # a held phone is never still


@dataclass(frozen=True, slots=True)
class Sequence:
    kind: Hard
    payload: bytes
    frames: tuple[Frame, ...]
    blur_px: tuple[float, ...]  # motion blur length of each frame


def _motion_blur(img: npt.NDArray[np.float64], dx: float, dy: float) -> npt.NDArray[np.float64]:
    """The frame averaged along a straight motion of (dx, dy) pixels during the exposure."""
    steps = max(1, int(np.ceil(max(abs(dx), abs(dy)))))
    acc = np.zeros_like(img)
    for k in range(steps + 1):
        f = k / steps - 0.5
        acc += _shift(img, dx * f, dy * f)
    out: npt.NDArray[np.float64] = acc / (steps + 1)
    return out


def _shift(img: npt.NDArray[np.float64], dx: float, dy: float) -> npt.NDArray[np.float64]:
    """Shifted by whole pixels, the edge repeated (the bezel and counter continue out of view)."""
    x, y = round(dx), round(dy)
    out = np.roll(img, (y, x), axis=(0, 1))
    if y > 0:
        out[:y] = out[y : y + 1]
    elif y < 0:
        out[y:] = out[y - 1 : y]
    if x > 0:
        out[:, :x] = out[:, x : x + 1]
    elif x < 0:
        out[:, x:] = out[:, x - 1 : x]
    return out


def sequence(kind: Hard, rng: np.random.Generator, key: SigningKey) -> Sequence:
    """The code at rest is a hard-set frame of `kind`; the phone comes in from 120-260 px away along a
    random direction, slowing exponentially, then trembles; each frame has its own sensor noise."""
    text = scheme_text(rng, key)
    p = draw_params(kind, rng)
    rest = render_hard(text, p, rng, noise=False).astype(np.float64)
    a = rng.uniform(0, 2 * np.pi)
    d0 = rng.uniform(120, 260)
    tremor = rng.uniform(*TREMOR_PX_S)
    frames: list[Frame] = []
    blurs: list[float] = []
    for i in range(FPS):
        t = i / FPS
        approach = d0 * np.exp(-t / SETTLE_S)
        speed = d0 / SETTLE_S * np.exp(-t / SETTLE_S)  # px/s along the approach
        jitter = rng.normal(0, 1, 2) * tremor
        vx, vy = speed * np.cos(a) + jitter[0], speed * np.sin(a) + jitter[1]
        moved = _shift(rest, approach * np.cos(a), approach * np.sin(a))
        blurred = _motion_blur(moved, vx * EXPOSURE_S, vy * EXPOSURE_S)
        noisy = blurred + rng.normal(0.0, p.noise_sigma, blurred.shape)
        frames.append(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
        blurs.append(float(np.hypot(vx, vy) * EXPOSURE_S))
    return Sequence(kind, text.encode("ascii"), tuple(frames), tuple(blurs))


def generate_sequences(per_kind: int, seed: int = 20261203) -> Iterator[Sequence]:
    rng = np.random.default_rng(seed)
    key = SigningKey.from_seed(rng.integers(0, 256, 32, dtype=np.uint8).tobytes())
    for kind in Hard:
        for _ in range(per_kind):
            yield sequence(kind, rng, key)
