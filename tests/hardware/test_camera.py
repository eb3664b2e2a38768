from typing import Any, ClassVar

import numpy as np
import pytest

from device.hw.camera import CameraError, PiCamera
from device.hw.decoders import ZxingDecoder
from device.hw.testimages import Distortion, render

STRIDE = 704  # the ISP pads lores rows; the driver must crop


class FakePicamera2:
    """The slice of picamera2.Picamera2 the driver uses; yields YUV420 buffers whose Y plane is a frame."""

    instances: ClassVar[list["FakePicamera2"]] = []

    def __init__(self, camera_num: int = 0) -> None:
        self.config: dict[str, Any] = {}
        self.started = False
        self.closed = False
        self.controls: dict[str, Any] = {}
        self.frames: list[np.ndarray] = []
        self.fail_next = False
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    def configure(self, config: dict[str, Any]) -> None:
        self.config = config

    def start(self) -> None:
        self.started = True

    def set_controls(self, controls: dict[str, Any]) -> None:
        self.controls.update(controls)

    def capture_array(self, name: str = "main") -> np.ndarray:
        assert name == "lores" and self.started
        if self.fail_next:
            raise RuntimeError("Camera frontend has timed out!")
        w, h = self.config["lores"]["size"]
        y = self.frames.pop(0) if self.frames else np.zeros((h, w), np.uint8)
        buf = np.full((h * 3 // 2, STRIDE), 128, np.uint8)  # chroma rows and padding are grey
        buf[:h, :w] = y
        return buf

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


def test_frames_are_the_lores_y_plane_cropped_to_size() -> None:
    FakePicamera2.instances.clear()
    cam = PiCamera(picamera2_class=FakePicamera2)
    cam.open()
    fake = FakePicamera2.instances[0]
    assert fake.config["lores"] == {"size": (640, 480), "format": "YUV420"}
    assert fake.controls["AfMode"] == 2
    frame = np.arange(480 * 640, dtype=np.uint32).astype(np.uint8).reshape(480, 640)
    fake.frames.append(frame)
    got = cam.read()
    assert got.shape == (480, 640) and got.flags.c_contiguous and np.array_equal(got, frame)
    cam.close()
    assert fake.closed and not fake.started


def test_camera_frame_decodes_end_to_end() -> None:
    FakePicamera2.instances.clear()
    payload = "SW1:" + "ABC123" * 30
    with PiCamera(picamera2_class=FakePicamera2) as cam:
        FakePicamera2.instances[0].frames.append(render(payload, Distortion.MOIRE, np.random.default_rng(9)))
        assert ZxingDecoder().decode_bytes(cam.read()) == [payload.encode()]


def test_missing_camera_names_the_fix() -> None:
    def no_camera(num: int) -> Any:
        raise IndexError("list index out of range")

    with pytest.raises(CameraError, match="ribbon cable"):
        PiCamera(picamera2_class=no_camera).open()


def test_camera_stall_raises_and_reopens() -> None:
    FakePicamera2.instances.clear()
    cam = PiCamera(picamera2_class=FakePicamera2)
    cam.open()
    FakePicamera2.instances[0].fail_next = True
    with pytest.raises(CameraError, match="reopened"):
        cam.read()
    assert FakePicamera2.instances[0].closed
    assert cam.read().shape == (480, 640)
    assert len(FakePicamera2.instances) == 2
    cam.close()


def test_odd_size_is_refused() -> None:
    with pytest.raises(ValueError):
        PiCamera((641, 480))


def test_without_picamera2_the_error_says_how_to_install_it() -> None:
    with pytest.raises(CameraError, match="python3-picamera2"):
        PiCamera().open()
