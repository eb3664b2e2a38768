"""A camera that shows the images in a folder, one per read, as grayscale frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

Frame = npt.NDArray[np.uint8]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})


class FolderCamera:
    """Implements device.interfaces.FrameSource over the folder's images in name order. After the last
    image `read` raises StopIteration (`loop=False`) or starts over (`loop=True`)."""

    def __init__(self, folder: Path, *, loop: bool = False) -> None:
        self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
        self._loop = loop
        self._next = 0

    def read(self) -> Frame:
        if self._next >= len(self.paths):
            if not self._loop:
                raise StopIteration
            self._next = 0
        path = self.paths[self._next]
        self._next += 1
        with Image.open(path) as img:
            return np.ascontiguousarray(np.asarray(img.convert("L"), dtype=np.uint8))
