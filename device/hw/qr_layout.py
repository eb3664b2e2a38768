"""Where everything sits in the scheme's QR symbol: version 7 (the version every `SW1:` text takes at
level M), its function patterns, format words, data masks and the order of the codeword bits.

ISO/IEC 18004 section 7; the soft reader (device/hw/soft_qr.py) needs the layout to sample the known
modules and read the others, and the tests check every table here against segno's encoder.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

VERSION = 7
SIZE = 4 * VERSION + 17  # 45 modules a side
ALIGNMENT = (6, 22, 38)  # alignment pattern centre rows and columns of version 7
VERSION_BITS = 0x07C94  # version 7 and its BCH(18, 6) check bits
DATA_CODEWORDS = 124  # level M: 4 blocks of 31 data and 18 check codewords, interleaved
BLOCKS = 4
BLOCK_DATA = 31
BLOCK_EC = 18
TOTAL_CODEWORDS = BLOCKS * (BLOCK_DATA + BLOCK_EC)  # 196, and version 7 has no remainder bits
LEVEL_M = 0b00

Grid = npt.NDArray[np.bool_]


def _function_patterns() -> tuple[Grid, Grid]:
    """Which modules are function patterns (or format info), and the value (dark) of each fixed one."""
    fn = np.zeros((SIZE, SIZE), bool)
    dark = np.zeros((SIZE, SIZE), bool)
    finder = np.ones((7, 7), bool)
    finder[1:6, 1:6] = False
    finder[2:5, 2:5] = True
    for r, c in ((0, 0), (0, SIZE - 7), (SIZE - 7, 0)):
        dark[r : r + 7, c : c + 7] = finder
        fn[max(r - 1, 0) : r + 8, max(c - 1, 0) : c + 8] = True  # the finder and its light separator
    dark[6, 8 : SIZE - 8] = np.arange(8, SIZE - 8) % 2 == 0
    dark[8 : SIZE - 8, 6] = np.arange(8, SIZE - 8) % 2 == 0
    fn[6, :] = True
    fn[:, 6] = True
    align = np.ones((5, 5), bool)
    align[1:4, 1:4] = False
    align[2, 2] = True
    for r in ALIGNMENT:
        for c in ALIGNMENT:
            if min(r, c) == 6 and max(r, c) in (6, SIZE - 7):  # under a finder pattern
                continue
            dark[r - 2 : r + 3, c - 2 : c + 3] = align
            fn[r - 2 : r + 3, c - 2 : c + 3] = True
    for i in range(18):
        bit = bool((VERSION_BITS >> i) & 1)
        r, c = i // 3, SIZE - 11 + i % 3
        dark[r, c] = dark[c, r] = bit
        fn[r, c] = fn[c, r] = True
    for r, c in format_positions(0) + format_positions(1):
        fn[r, c] = True
    dark[SIZE - 8, 8] = True  # the dark module beside the second format copy
    fn[SIZE - 8, 8] = True
    return fn, dark


def format_positions(copy: int) -> list[tuple[int, int]]:
    """The (row, column) of format bit 0 to 14 (least significant first) in one of its two copies."""
    if copy == 0:
        return [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)] + [(8, 14 - i) for i in range(9, 15)]
    return [(8, SIZE - 1 - i) for i in range(8)] + [(SIZE - 15 + i, 8) for i in range(8, 15)]


def format_word(level: int, mask: int) -> int:
    """The 15 format bits: level and mask, their BCH(15, 5) check bits, XORed with 0x5412."""
    data = (level << 3) | mask
    rem = data << 10
    for shift in range(4, -1, -1):
        if rem & (1 << (shift + 10)):
            rem ^= 0x537 << shift
    return ((data << 10) | rem) ^ 0x5412


def mask_grid(mask: int) -> Grid:
    """Where data mask `mask` inverts a module."""
    r, c = np.mgrid[0:SIZE, 0:SIZE]
    conditions = (
        (r + c) % 2 == 0,
        r % 2 == 0,
        c % 3 == 0,
        (r + c) % 3 == 0,
        (r // 2 + c // 3) % 2 == 0,
        (r * c) % 2 + (r * c) % 3 == 0,
        ((r * c) % 2 + (r * c) % 3) % 2 == 0,
        ((r + c) % 2 + (r * c) % 3) % 2 == 0,
    )
    out: Grid = conditions[mask]
    return out


def _bit_order(fn: Grid) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Rows and columns of the data bits in order (codeword 0's most significant bit first): column
    pairs from the right, up then down, skipping the vertical timing pattern's column."""
    rows: list[int] = []
    cols: list[int] = []
    right = SIZE - 1
    while right >= 1:
        if right == 6:
            right = 5
        upward = (right + 1) & 2 == 0
        for vert in range(SIZE):
            r = SIZE - 1 - vert if upward else vert
            for c in (right, right - 1):
                if not fn[r, c]:
                    rows.append(r)
                    cols.append(c)
        right -= 2
    return np.array(rows), np.array(cols)


FUNCTION, FUNCTION_DARK = _function_patterns()
# the fixed function modules: all but the format bits (which depend on the mask)
FIXED = FUNCTION.copy()
for _r, _c in format_positions(0) + format_positions(1):
    FIXED[_r, _c] = False
BIT_ROWS, BIT_COLS = _bit_order(FUNCTION)
assert len(BIT_ROWS) == TOTAL_CODEWORDS * 8


def interleaved_index(block: int, i: int) -> int:
    """The position in the symbol's codeword sequence of codeword `i` of RS block `block`."""
    if i < BLOCK_DATA:
        return i * BLOCKS + block
    return DATA_CODEWORDS + (i - BLOCK_DATA) * BLOCKS + block
