"""The terminal's QR decoder: zxing-cpp passes tried in order of cost until one reads the code exactly.

Most frames are read by the first pass, so the cascade costs what one zxing-cpp pass costs on them; only a
frame that fails pays for the next passes. The order and the passes come from the hard set's bench
(bench/bench_decoders.py, figures in docs/device.md), each pass kept because it reads frames the cheaper
ones miss:

1. local-average binarizer on the whole frame (the single pass); it also reports where it saw a
   symbol it could not read (`return_errors`), which gives the region of interest for step 4;
2. global-histogram binarizer (low contrast with a lighting gradient, and noise);
3. the whole frame halved (averages noise and blur away);
4. on the region of interest only — the symbol seen in this frame, else where a code was seen in the
   last `roi_frames` frames (the phone moves little between frames): the crop upscaled 2x (small
   modules), sharpened (blur), rectified by the seen corners (strong perspective), upscaled and sharpened;
5. the whole frame box-filtered, then upscaled 2x (small codes nothing above saw).

`budget_ms` bounds what one frame may cost: a pass whose estimated cost (a multiple of the first pass's
time on this frame) would overrun it is skipped, so a hopeless frame does not delay the next ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from .decoders import DecoderName, DecoderUnavailable, Frame, _check_frame

Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]
RECTIFIED = 320  # px side of a rectified symbol (about 7 px a module for the scheme's version 7)


@dataclass
class PassStats:
    """How often each pass was tried and read the code (the bench reports them)."""

    tried: dict[str, int]
    decoded: dict[str, int]


class CascadeDecoder:
    name = DecoderName.ZXING

    def __init__(
        self,
        *,
        roi_frames: int = 8,
        budget_ms: float | None = 6.0,
        use_roi: bool = True,
        use_whole_frame_passes: bool = True,
    ) -> None:
        try:
            import zxingcpp
        except ImportError as e:
            raise DecoderUnavailable("zxing-cpp is not installed (pip install zxing-cpp)") from e
        self._zx = zxingcpp
        self._formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        self._roi_frames = roi_frames
        self._budget_s = None if budget_ms is None else budget_ms / 1000
        self._use_roi = use_roi
        self._use_blind = use_whole_frame_passes
        self._last_quad: Quad | None = None
        self._quad_age = 0
        self.stats = PassStats({}, {})

    def reset(self) -> None:
        """Forget the region of interest (a new, unrelated frame follows: the bench's still sets)."""
        self._last_quad, self._quad_age = None, 0

    # --- one zxing-cpp pass ---------------------------------------------------------------------------
    def _read(self, img: Frame, *, histogram: bool = False, seen: list[Quad] | None = None) -> list[bytes]:
        zx = self._zx
        results = zx.read_barcodes(
            img,
            formats=self._formats,
            try_rotate=False,  # QR finders are rotation-invariant
            try_invert=False,
            try_downscale=False,  # the cascade chooses its own scales
            text_mode=zx.TextMode.Plain,
            binarizer=zx.Binarizer.GlobalHistogram if histogram else zx.Binarizer.LocalAverage,
            return_errors=seen is not None,
        )
        if seen is not None:
            seen += [_quad(r.position) for r in results if not r.valid]
        return [bytes(r.bytes) for r in results if r.valid]

    # --- the cascade ----------------------------------------------------------------------------------
    def decode_bytes(self, frame: Frame) -> list[bytes]:
        frame = _check_frame(frame)
        t0 = time.perf_counter()
        seen: list[Quad] = []
        if (found := self._try("local", lambda: self._read(frame, seen=seen))) is not None:
            return found
        first_s = time.perf_counter() - t0  # what one pass over this frame costs: the unit of the estimates
        passes: list[tuple[str, float, Callable[[], list[bytes]]]] = [
            ("histogram", 1.0, lambda: self._read(frame, histogram=True, seen=seen)),
            ("half", 0.5, lambda: self._read(_half(frame))),
        ]
        quad = (seen[0] if seen else self._last_quad) if self._use_roi else None
        if quad is not None:
            crop = _crop(frame, quad)
            passes += [
                ("roi_up2", 0.6, lambda: self._read(_up2(crop))),
                ("roi_sharpen", 0.6, lambda: self._read(_sharpen(crop))),
                ("roi_rectified", 0.5, lambda: self._read(_rectify(frame, quad))),
                ("roi_up2_sharpen", 1.0, lambda: self._read(_sharpen(_up2(crop)))),
            ]
        if self._use_blind:
            passes += [
                ("box", 1.5, lambda: self._read(_box(frame))),
                ("up2", 4.5, lambda: self._read(_up2(frame))),
            ]
        for name, cost, run in passes:
            if name == "half" and not self._use_blind:
                continue
            if self._budget_s is not None and time.perf_counter() - t0 + cost * first_s > self._budget_s:
                continue  # would overrun the budget: a cheaper pass further on may still fit
            if (found := self._try(name, run)) is not None:
                return found
        return self._missed(seen)

    def _try(self, name: str, run: Callable[[], list[bytes]]) -> list[bytes] | None:
        self.stats.tried[name] = self.stats.tried.get(name, 0) + 1
        found = run()
        if not found:
            return None
        self.stats.decoded[name] = self.stats.decoded.get(name, 0) + 1
        return found

    def _missed(self, seen: list[Quad]) -> list[bytes]:
        """Remember where a symbol was seen, for the next frames' region of interest."""
        if seen:
            self._last_quad, self._quad_age = seen[0], 0
        elif self._last_quad is not None:
            self._quad_age += 1
            if self._quad_age > self._roi_frames:
                self._last_quad = None
        return []


def _quad(position: object) -> Quad:
    p = position
    corners = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)  # type: ignore[attr-defined]
    return (
        (float(corners[0].x), float(corners[0].y)),
        (float(corners[1].x), float(corners[1].y)),
        (float(corners[2].x), float(corners[2].y)),
        (float(corners[3].x), float(corners[3].y)),
    )


def _crop(frame: Frame, quad: Quad, margin: float = 0.25) -> Frame:
    xs = [x for x, _ in quad]
    ys = [y for _, y in quad]
    m = int(margin * max(max(xs) - min(xs), max(ys) - min(ys))) + 8
    h, w = frame.shape
    x0, y0 = max(0, int(min(xs)) - m), max(0, int(min(ys)) - m)
    x1, y1 = min(w, int(max(xs)) + m), min(h, int(max(ys)) + m)
    return np.ascontiguousarray(frame[y0:y1, x0:x1])


def _up2(img: Frame) -> Frame:
    h, w = img.shape
    return np.asarray(Image.fromarray(img).resize((2 * w, 2 * h), Image.Resampling.BILINEAR))


def _half(img: Frame) -> Frame:
    return np.asarray(Image.fromarray(img).reduce(2))


def _box(img: Frame) -> Frame:
    return np.asarray(Image.fromarray(img).filter(ImageFilter.BoxBlur(1)))


def _sharpen(img: Frame) -> Frame:
    return np.asarray(
        Image.fromarray(img).filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=0))
    )


def _rectify(frame: Frame, quad: Quad, side: int = RECTIFIED) -> Frame:
    """The seen symbol mapped back to an upright square with a quiet margin (a homography by its corners)."""
    m = side // 7
    dst = [(m, m), (side + m, m), (side + m, side + m), (m, side + m)]
    rows: list[list[float]] = []
    rhs: list[float] = []
    for (u, v), (x, y) in zip(dst, quad, strict=True):
        rows += [[u, v, 1, 0, 0, 0, -x * u, -x * v], [0, 0, 0, u, v, 1, -y * u, -y * v]]
        rhs += [x, y]
    try:
        c = np.linalg.solve(np.array(rows), np.array(rhs))
    except np.linalg.LinAlgError:  # degenerate corners: nothing to rectify
        return np.zeros((8, 8), np.uint8)
    coeffs = (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])
    out = Image.fromarray(frame).transform(
        (side + 2 * m, side + 2 * m), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    return np.asarray(out)
