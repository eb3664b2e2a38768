"""The terminal's QR decoder: zxing-cpp passes over OpenCV-filtered views of the frame, tried in order
until one reads the code exactly.

Most frames are read by the first pass, so the cascade costs what one zxing-cpp pass costs on them; only a
frame that fails pays for the next ones. `ORDER` was chosen greedily by frames read per CPU millisecond on
a training draw of the hard set (seeds other than the bench's; bench/bench_decoders.py measures it, the
figures are in docs/device.md). The passes, by what they are for:

- whole-frame: the frame as it is, with the global-histogram or the local-average binarizer; a Gaussian
  blur (noise); a 2x cubic upscale, with and without that blur. Halved, median, unsharp mask and CLAHE
  are there too, measured by the training and left out of `ORDER` (they read nothing the others miss);
- screen: the phone's lit screen is the largest bright quadrilateral in view, found on the frame at
  half size (Otsu's threshold, the largest outer contour, its hull approximated by four corners) even
  when blur, noise or a tilt keep zxing-cpp's finder-pattern detector from seeing the code. Its corners
  give a homography to an upright square of RECTIFIED px (strong perspective, small modules), or of
  UPSCALED px from the crop enlarged twice (Lanczos) for the smallest modules;
- deblur: the screen's crop deconvolved (a Wiener filter for a Gaussian blur of a given sigma, in the
  frequency domain) before the rectification: blur mixed with small modules, low contrast or noise.
- soft (with `soft_reader=True`, after every pass): device/hw/soft_qr.py's own soft-decision reader of
  the scheme's symbol on the screen, for what no zxing-cpp pass reads.

`budget_ms` bounds the thread CPU time one frame may take: once spent, no further pass starts, so a
hopeless frame does not delay the next ones (the clock is injectable for tests). The soft reader runs
after it all the same (one deconvolution and decode, a few ms; a hopeless grid is given up sooner).

The terminal's decoder (`terminal_decoder()`, what `make_decoder("zxing")` gives) is the cascade within
TERMINAL_BUDGET_MS and then the soft reader: on the frames that need more than that, the reader reads
more than the cascade's later passes would (docs/device.md has the figures).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from .decoders import DecoderName, DecoderUnavailable, Frame, _check_frame
from .soft_qr import read_screen

RECTIFIED = 240  # px side of the rectified screen: ~4 px a module for the scheme's version 7 code
UPSCALED = 360  # the same from the crop enlarged twice (Lanczos): ~6 px a module, for the smallest codes
MARGIN = 8  # px of the bezel kept around the rectified screen (a quiet zone for the finder patterns)
BUDGET_MS = 12.0
TERMINAL_BUDGET_MS = 6.0  # the cascade's budget in the terminal's decoder, the soft reader after it
# Wiener deconvolution: the Gaussian blur sigmas (frame px) and noise-to-signal ratios the passes assume
DEBLUR_SIGMAS = (0.8, 1.0, 1.4, 1.8, 2.2)
DEBLUR_NOISE = (0.01, 0.03, 0.1)

# passes over the frame itself or a filtered copy of it; the others work on the screen's quadrilateral
WHOLE_FRAME = frozenset(
    {"plain", "histogram", "half", "gauss", "median", "unsharp", "clahe", "up2", "gauss_up2"}
)

PASSES = (
    *sorted(WHOLE_FRAME),
    "screen",
    "screen_histogram",
    "screen_sharpen",
    "screen_up",
    "screen_up_histogram",
    *(f"deblur_{s:g}_{k:g}" for s in DEBLUR_SIGMAS for k in DEBLUR_NOISE),
)

Quad = npt.NDArray[np.float32]  # 4x2 corners, clockwise as seen
Spectrum = tuple[npt.NDArray[np.complex128], int, int]  # rfft2 of the padded crop, its padded height, width

# The greedy order on the training draws (`python -m bench.train_cascade` recomputes it): every pass that
# reads a training frame no earlier pass reads; and `half` second, which the hard draws do not need (`plain`
# reads what it reads) but a combined frame of the harsh set does: there it is read within the budget on a
# loaded machine (480 of 480 against 479, the hard set's reads unchanged).
ORDER: tuple[str, ...] = (
    "histogram",
    "half",
    "plain",
    "screen_sharpen",
    "deblur_2.2_0.01",
    "deblur_1.4_0.01",
    "gauss",
    "deblur_1_0.01",
    "deblur_1.4_0.1",
    "deblur_2.2_0.1",
    "deblur_0.8_0.1",
    "screen_up_histogram",
    "gauss_up2",
    "up2",
    "deblur_2.2_0.03",
    "deblur_1.8_0.01",
    "deblur_1.4_0.03",
    "deblur_0.8_0.03",
)


@dataclass
class PassStats:
    """How often each pass was tried and read the code (the bench reports them)."""

    tried: dict[str, int] = field(default_factory=dict)
    decoded: dict[str, int] = field(default_factory=dict)


def terminal_decoder() -> CascadeDecoder:
    """The terminal's decoder: the cascade within TERMINAL_BUDGET_MS, then the soft reader."""
    return CascadeDecoder(budget_ms=TERMINAL_BUDGET_MS, soft_reader=True)


class _Views:
    """One frame's derived images, each computed once however many passes use it."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self._half: Frame | None = None
        self._gauss: Frame | None = None
        self._screen: tuple[Quad | None] | None = None
        self._rectified: Frame | None = None
        self._upscaled: Frame | None = None
        self._spectrum: tuple[Spectrum, int, int, Quad] | None = None

    def half(self) -> Frame:
        if self._half is None:
            self._half = _u8(cv2.resize(self.frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
        return self._half

    def gauss(self) -> Frame:
        if self._gauss is None:
            self._gauss = _u8(cv2.GaussianBlur(self.frame, (0, 0), 1.0))
        return self._gauss

    def screen(self) -> Quad | None:
        if self._screen is None:
            self._screen = (find_screen(self.half()),)
        return self._screen[0]

    def rectified(self) -> Frame | None:
        q = self.screen()
        if q is None:
            return None
        if self._rectified is None:
            self._rectified = rectify(self.frame, q)
        return self._rectified

    def upscaled(self) -> Frame | None:
        """The screen's crop enlarged twice (Lanczos) and rectified to UPSCALED px: zxing-cpp's finder
        and sampling grid see 2 px modules as 6 px ones, interpolated more sharply than by the warp."""
        q = self.screen()
        if q is None:
            return None
        if self._upscaled is None:
            x0, y0, x1, y1 = _crop_box(self.frame, q)
            big = cv2.resize(self.frame[y0:y1, x0:x1], None, fx=2, fy=2, interpolation=cv2.INTER_LANCZOS4)
            local = ((q - np.array([x0, y0], np.float32)) * 2).astype(np.float32)
            self._upscaled = rectify(_u8(big), local, UPSCALED)
        return self._upscaled

    def deblurred(self, sigma: float, k: float) -> Frame | None:
        q = self.screen()
        if q is None:
            return None
        if self._spectrum is None:
            x0, y0, x1, y1 = _crop_box(self.frame, q)
            crop = self.frame[y0:y1, x0:x1]
            shifted = (q - np.array([x0, y0], np.float32)).astype(np.float32)
            self._spectrum = (_spectrum(crop), y1 - y0, x1 - x0, shifted)
        spectrum, h, w, local = self._spectrum
        return rectify(_wiener(spectrum, sigma, k)[:h, :w], local)


class CascadeDecoder:
    name = DecoderName.ZXING

    def __init__(
        self,
        *,
        passes: Iterable[str] | None = None,
        budget_ms: float | None = BUDGET_MS,
        clock: Callable[[], float] = time.thread_time,
        soft_reader: bool = False,
    ) -> None:
        try:
            import zxingcpp
        except ImportError as e:
            raise DecoderUnavailable("zxing-cpp is not installed (pip install zxing-cpp)") from e
        # OpenCV runs on the calling thread only: the budget is that thread's CPU time, and the
        # terminal's other work (journal, NFC) keeps the Pi's other cores.
        cv2.setNumThreads(1)
        self._zx = zxingcpp
        self._formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        table = self._table()
        chosen = list(ORDER if passes is None else passes)
        unknown = [p for p in chosen if p not in table]
        if unknown:
            raise ValueError(f"unknown decoder passes {unknown}; known: {sorted(table)}")
        self.passes: tuple[str, ...] = tuple(chosen)
        self._run = [(p, table[p]) for p in chosen]
        self._budget_s = None if budget_ms is None else budget_ms / 1000
        self._clock = clock
        self._soft_reader = soft_reader  # device/hw/soft_qr.py on the screen once every pass failed
        self.stats = PassStats()

    def decode_bytes(self, frame: Frame) -> list[bytes]:
        views = _Views(_check_frame(frame))
        t0 = self._clock()
        for name, run in self._run:
            if self._budget_s is not None and self._clock() - t0 >= self._budget_s:
                break  # spent: a hopeless frame must not delay the next ones
            self.stats.tried[name] = self.stats.tried.get(name, 0) + 1
            found = run(views)
            if found:
                self.stats.decoded[name] = self.stats.decoded.get(name, 0) + 1
                return found
        return self._soft(views) if self._soft_reader else []

    def _soft(self, views: _Views) -> list[bytes]:
        q = views.screen()
        self.stats.tried["soft"] = self.stats.tried.get("soft", 0) + 1
        text = None if q is None else read_screen(views.frame, q)
        if text is None:
            return []
        self.stats.decoded["soft"] = self.stats.decoded.get("soft", 0) + 1
        return [text]

    def _read(self, img: Frame | None, *, histogram: bool = False) -> list[bytes]:
        if img is None:  # the pass's view does not exist for this frame (no screen found)
            return []
        zx = self._zx
        results = zx.read_barcodes(
            np.ascontiguousarray(img),
            formats=self._formats,
            try_rotate=False,  # QR finders are rotation-invariant
            try_invert=False,
            try_downscale=False,  # the cascade chooses its own scales
            text_mode=zx.TextMode.Plain,
            binarizer=zx.Binarizer.GlobalHistogram if histogram else zx.Binarizer.LocalAverage,
        )
        return [bytes(r.bytes) for r in results if r.valid]

    def _table(self) -> dict[str, Callable[[_Views], list[bytes]]]:
        read = self._read
        table: dict[str, Callable[[_Views], list[bytes]]] = {
            "plain": lambda v: read(v.frame),
            "histogram": lambda v: read(v.frame, histogram=True),
            "half": lambda v: read(v.half()),
            "gauss": lambda v: read(v.gauss()),
            "median": lambda v: read(_u8(cv2.medianBlur(v.frame, 3))),
            "unsharp": lambda v: read(unsharp(v.frame)),
            "clahe": lambda v: read(_u8(cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(v.frame))),
            "up2": lambda v: read(up2(v.frame)),
            "gauss_up2": lambda v: read(up2(v.gauss())),
            "screen": lambda v: read(v.rectified()),
            "screen_histogram": lambda v: read(v.rectified(), histogram=True),
            "screen_sharpen": lambda v: read(_sharpen(v.rectified())),
            "screen_up": lambda v: read(v.upscaled()),
            "screen_up_histogram": lambda v: read(v.upscaled(), histogram=True),
        }
        for sigma in DEBLUR_SIGMAS:
            for k in DEBLUR_NOISE:
                table[f"deblur_{sigma:g}_{k:g}"] = _deblur_pass(read, sigma, k)
        return table


def _deblur_pass(
    read: Callable[[Frame | None], list[bytes]], sigma: float, k: float
) -> Callable[[_Views], list[bytes]]:
    return lambda v: read(v.deblurred(sigma, k))


def _u8(img: object) -> Frame:
    """OpenCV's result typed as what it is: every filter here keeps the 8-bit frame's type (no copy)."""
    out: Frame = np.asarray(img, np.uint8)
    return out


def up2(img: Frame) -> Frame:
    return _u8(cv2.resize(img, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))


def unsharp(img: Frame, sigma: float = 2.0, amount: float = 1.5) -> Frame:
    soft = cv2.GaussianBlur(img, (0, 0), sigma)
    return _u8(cv2.addWeighted(img, 1 + amount, soft, -amount, 0))


def _sharpen(img: Frame | None) -> Frame | None:
    """Denoise then sharpen (the rectified screen is upscaled, so its blur is wider than the frame's)."""
    return None if img is None else unsharp(_u8(cv2.GaussianBlur(img, (0, 0), 1.0)), sigma=3.0)


def find_screen(half: Frame) -> Quad | None:
    """The corners of the largest bright quadrilateral of a half-size frame, in full-frame pixels,
    clockwise as seen."""
    soft = cv2.GaussianBlur(half, (0, 0), 1.0)
    _, bright = cv2.threshold(soft, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    if cv2.contourArea(hull) < 400:
        return None  # a glint, not a screen: 40x40 px at full size is less than any readable code
    perimeter = cv2.arcLength(hull, True)
    corners: npt.NDArray[np.float32] | None = None
    for eps in (0.02, 0.04, 0.07, 0.1):
        approx = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(approx) == 4:
            corners = approx.astype(np.float32)
            break
    if corners is None:  # rounded or clipped: the tightest rectangle instead
        corners = cv2.boxPoints(cv2.minAreaRect(hull)).astype(np.float32)
    q = corners.reshape(4, 2) * 2
    centre = q.mean(axis=0)
    # y grows downwards, so ascending angle is clockwise as seen: the same turn as the target square
    out: Quad = q[np.argsort(np.arctan2(q[:, 1] - centre[1], q[:, 0] - centre[0]))].astype(np.float32)
    return out


def rectify(img: Frame, q: Quad, side: int = RECTIFIED) -> Frame:
    """The quadrilateral `q` of `img` mapped to an upright `side` px square inside a MARGIN."""
    m = MARGIN
    dst = np.array([[m, m], [side + m, m], [side + m, side + m], [m, side + m]], np.float32)
    h = cv2.getPerspectiveTransform(q, dst)
    return _u8(
        cv2.warpPerspective(
            img, h, (side + 2 * m, side + 2 * m), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
        )
    )


def _crop_box(frame: Frame, q: Quad, pad: int = 6) -> tuple[int, int, int, int]:
    h, w = frame.shape
    x0 = int(max(0, np.floor(q[:, 0].min()) - pad))
    y0 = int(max(0, np.floor(q[:, 1].min()) - pad))
    x1 = int(min(w, np.ceil(q[:, 0].max()) + pad))
    y1 = int(min(h, np.ceil(q[:, 1].max()) + pad))
    return x0, y0, x1, y1


def _spectrum(crop: Frame) -> Spectrum:
    h, w = crop.shape
    hh, ww = cv2.getOptimalDFTSize(h), cv2.getOptimalDFTSize(w)
    padded = cv2.copyMakeBorder(crop, 0, hh - h, 0, ww - w, cv2.BORDER_REPLICATE)
    return np.fft.rfft2(padded.astype(np.float32)), hh, ww


def _wiener(spectrum: Spectrum, sigma: float, k: float) -> Frame:
    """The padded crop with a Gaussian blur of `sigma` undone; `k` (noise over signal power) keeps the
    frequencies the blur erased from being amplified into noise."""
    x, hh, ww = spectrum
    fy = np.fft.fftfreq(hh)[:, None]
    fx = np.fft.rfftfreq(ww)[None, :]
    g = np.exp(-2 * np.pi**2 * sigma**2 * (fx**2 + fy**2))
    y = np.fft.irfft2(x * (g / (g * g + k)), s=(hh, ww))
    out: Frame = np.clip(y, 0, 255).astype(np.uint8)
    return out
