"""Continuous QR scanning: frames from a camera through a decoder, one result per code shown.

A phone held over the camera is in view for dozens of frames; it is reported once, and again only after
it has been out of view for `release_s` (or if another code appears). Payloads are the exact bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .decoders import BytesDecoder


class FrameReader(Protocol):
    def read(self) -> npt.NDArray[np.uint8]: ...


class QrScanner:
    def __init__(
        self,
        camera: FrameReader,
        decoder: BytesDecoder,
        *,
        release_s: float = 1.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._camera = camera
        self._decoder = decoder
        self._release_s = release_s
        self._now = monotonic
        self._last: bytes | None = None
        self._last_seen = 0.0

    def scan(self) -> bytes | None:
        """Read one frame; the payload of a newly shown code, else None."""
        payloads = self._decoder.decode_bytes(self._camera.read())
        now = self._now()
        if not payloads:
            if self._last is not None and now - self._last_seen >= self._release_s:
                self._last = None
            return None
        payload = payloads[0]  # one phone at a time; a second code in view waits its turn
        same = payload == self._last
        self._last, self._last_seen = payload, now
        return None if same else payload
