"""QR decoders over numpy grayscale frames, each handing back the symbol's exact bytes.

zxing-cpp is the default, as the cascade of passes over OpenCV views of the frame in
device/hw/cascade.py followed by its soft-decision reader of the scheme's symbol (`zxing`,
cascade.terminal_decoder); one plain local-average pass is `zxing-single` (see bench/bench_decoders.py
and docs/hardware.md for the figures); pyzbar is the runner-up, selectable by name. Both are asked for raw bytes: pyzbar's default would transcode binary QR
content to text, so the zbar scanner is driven directly with ZBAR_CFG_BINARY set.
"""

from __future__ import annotations

import ctypes
import enum
from typing import Protocol

import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]


class DecoderName(enum.StrEnum):
    ZXING = "zxing"  # the cascade
    ZXING_SINGLE = "zxing-single"
    ZBAR = "zbar"


class DecoderUnavailable(RuntimeError):
    """The decoder's library (or, for zbar, the system's libzbar0) is not installed."""


class BytesDecoder(Protocol):
    name: DecoderName

    def decode_bytes(self, frame: Frame) -> list[bytes]: ...


def as_text(payload: bytes) -> str:
    """The payload as text, losslessly: UTF-8, with any non-UTF-8 byte kept as a surrogate escape, so
    `text.encode("utf-8", "surrogateescape")` gives back the exact bytes (the scheme's QR is ASCII)."""
    return payload.decode("utf-8", "surrogateescape")


def _check_frame(frame: Frame) -> Frame:
    if frame.dtype != np.uint8 or frame.ndim != 2:
        raise ValueError(f"decoders take 2-D uint8 grayscale frames, got {frame.dtype} {frame.shape}")
    return frame if frame.flags.c_contiguous else np.ascontiguousarray(frame)


class ZxingDecoder:
    """zxing-cpp, QR only, one pass: no rotate (QR finders are rotation-invariant), invert or downscale pass."""

    name = DecoderName.ZXING_SINGLE

    def __init__(self) -> None:
        try:
            import zxingcpp
        except ImportError as e:
            raise DecoderUnavailable("zxing-cpp is not installed (pip install zxing-cpp)") from e
        self._zx = zxingcpp
        self._formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

    def decode_bytes(self, frame: Frame) -> list[bytes]:
        results = self._zx.read_barcodes(
            _check_frame(frame),
            formats=self._formats,
            try_rotate=False,
            try_invert=False,
            try_downscale=False,  # the lores frame is already small; the code fills a third of it or more
            text_mode=self._zx.TextMode.Plain,
        )
        return [bytes(r.bytes) for r in results if r.valid]


# zbar.h: enum zbar_config_e { ENABLE, ADD_CHECK, EMIT_CHECK, ASCII, BINARY, ... } (BINARY since zbar 0.23)
_ZBAR_CFG_ENABLE = 0
_ZBAR_CFG_BINARY = 4
_ZBAR_NONE = 0
_ZBAR_QRCODE = 64
_Y800 = int.from_bytes(b"Y800", "little")


class ZbarDecoder:
    """zbar through pyzbar's ctypes bindings, QR only, with binary mode so bytes come back untouched."""

    name = DecoderName.ZBAR

    def __init__(self) -> None:
        try:
            from pyzbar import wrapper
        except ImportError as e:  # pyzbar raises ImportError when libzbar0 is missing too
            raise DecoderUnavailable(f"pyzbar/libzbar0 unavailable ({e}); apt-get install libzbar0") from e
        self._w = wrapper
        self._scanner = wrapper.zbar_image_scanner_create()
        set_config = wrapper.zbar_image_scanner_set_config
        set_config(self._scanner, _ZBAR_NONE, _ZBAR_CFG_ENABLE, 0)
        set_config(self._scanner, _ZBAR_QRCODE, _ZBAR_CFG_ENABLE, 1)
        if set_config(self._scanner, _ZBAR_QRCODE, _ZBAR_CFG_BINARY, 1) != 0:
            raise DecoderUnavailable(
                "libzbar0 older than 0.23: no binary mode, payload bytes would be altered"
            )

    def decode_bytes(self, frame: Frame) -> list[bytes]:
        frame = _check_frame(frame)
        w = self._w
        h, width = frame.shape
        image = w.zbar_image_create()
        try:
            w.zbar_image_set_format(image, _Y800)
            w.zbar_image_set_size(image, width, h)
            w.zbar_image_set_data(image, frame.ctypes.data_as(ctypes.c_void_p), frame.size, None)
            if w.zbar_scan_image(self._scanner, image) < 0:
                raise ValueError("zbar refused the frame")
            out: list[bytes] = []
            symbol = w.zbar_image_first_symbol(image)
            while symbol:
                out.append(
                    ctypes.string_at(w.zbar_symbol_get_data(symbol), w.zbar_symbol_get_data_length(symbol))
                )
                symbol = w.zbar_symbol_next(symbol)
            return out
        finally:
            w.zbar_image_destroy(image)

    def __del__(self) -> None:
        scanner = getattr(self, "_scanner", None)
        if scanner:
            self._w.zbar_image_scanner_destroy(scanner)


def make_decoder(name: DecoderName | str = DecoderName.ZXING) -> BytesDecoder:
    """The decoder the terminal config names; zxing-cpp unless told otherwise."""
    match DecoderName(name):
        case DecoderName.ZXING:
            try:
                from .cascade import terminal_decoder
            except ImportError as e:  # the cascade's filters need OpenCV
                raise DecoderUnavailable(f"{e.name} is not installed (make install)") from e
            return terminal_decoder()
        case DecoderName.ZXING_SINGLE:
            return ZxingDecoder()
        case DecoderName.ZBAR:
            return ZbarDecoder()
