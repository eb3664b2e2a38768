"""Pi camera through picamera2: grayscale frames from the lores stream's Y plane, continuously.

The lores stream (640x480 YUV420) comes straight off the ISP, so the luma plane is a ready grayscale
frame with no colour conversion: the cheapest frame the Pi can give. picamera2 only installs on
Raspberry Pi OS, so it is imported when the camera opens, and tests inject a fake `Picamera2` class.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)
Frame = npt.NDArray[np.uint8]


class CameraError(RuntimeError):
    """The camera could not be opened or stopped giving frames; the message names the fix."""


def _picamera2_class() -> Callable[..., Any]:
    try:
        from picamera2 import Picamera2
    except ImportError as e:
        raise CameraError("picamera2 missing: apt-get install -y python3-picamera2 (Raspberry Pi OS)") from e
    cls: Callable[..., Any] = Picamera2
    return cls


class PiCamera:
    """A FrameSource over picamera2. `read()` blocks until the next frame (30 fps) and returns its Y plane."""

    def __init__(
        self,
        size: tuple[int, int] = (640, 480),
        *,
        fps: int = 30,
        camera_num: int = 0,
        picamera2_class: Callable[..., Any] | None = None,
    ) -> None:
        if size[0] % 2 or size[1] % 2:
            raise ValueError("YUV420 frame sizes are even")
        self._size = size
        self._fps = fps
        self._num = camera_num
        self._cls = picamera2_class
        self._cam: Any = None

    def open(self) -> None:
        if self._cam is not None:
            return
        cls = self._cls or _picamera2_class()
        try:
            cam = cls(self._num)
        except (IndexError, RuntimeError) as e:  # picamera2 raises these when no camera is attached
            raise CameraError(
                f"no camera {self._num} ({e}); check the ribbon cable and `rpicam-hello --list`"
            ) from e
        w, h = self._size
        config = cam.create_video_configuration(
            main={"size": (2 * w, 2 * h), "format": "YUV420"},  # unused here, but lores must be smaller
            lores={"size": (w, h), "format": "YUV420"},
            buffer_count=4,
            controls={"FrameRate": self._fps},
        )
        cam.configure(config)
        cam.start()
        try:
            # Continuous autofocus where the module has it (Camera Module 3): phones come at varying distances.
            cam.set_controls({"AfMode": 2})
        except (RuntimeError, KeyError):
            log.info("camera has no autofocus; fixed focus set for 10-20 cm (see hardware_docs)")
        self._cam = cam

    def read(self) -> Frame:
        if self._cam is None:
            self.open()
        try:
            yuv = self._cam.capture_array("lores")
        except RuntimeError as e:
            self.close()
            raise CameraError(f"camera stopped giving frames ({e}); it is reopened on the next read") from e
        w, h = self._size
        if yuv.dtype != np.uint8 or yuv.ndim != 2 or yuv.shape[0] < h * 3 // 2 or yuv.shape[1] < w:
            raise CameraError(f"unexpected lores buffer {yuv.dtype} {yuv.shape} for {w}x{h} YUV420")
        # Y plane: the first h rows; rows may be padded to the ISP's stride, so crop the width too.
        return np.ascontiguousarray(yuv[:h, :w])

    def close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            try:
                cam.stop()
            finally:
                cam.close()

    def __enter__(self) -> PiCamera:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
