"""A soft-decision reader for the scheme's QR symbol, for frames zxing-cpp cannot read.

The cascade (device/hw/cascade.py) finds the phone's screen; this reader takes the code's module grid
from it (the pass's lit screen is the code and SCREEN_BORDER modules around it), refines the grid on the function patterns every version 7 symbol has (finders, timing and
alignment patterns, version info), samples every module with a threshold fitted to the lighting, and
keeps each module's margin from that threshold as its confidence. The format is the level-M word
nearest the two soft copies; the codewords are unmasked and de-interleaved, and each Reed-Solomon block
is decoded with its least confident codewords erased, which corrects twice as many of them as errors.
The two data codewords wholly inside the `SW1:` prefix are known plaintext and are written in.

A text is returned only if every block decodes with check symbols to spare, the bit stream is one
alphanumeric segment ending in the standard terminator and pad codewords, and the text is `SW1:`
followed by valid base45; anything else is None, never a guess.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt
import reedsolo

from shared_crypto.qr import ALPHABET as ALPHANUMERIC  # base45's alphabet is QR's alphanumeric set
from shared_crypto.qr import PREFIX, b45decode

from . import qr_layout as L
from .decoders import Frame

Floats = npt.NDArray[np.float64]
Quad = npt.NDArray[np.float32]

SCREEN_BORDER = 7  # modules of lit screen around the code (quiet zone 4, bezel 3) on the scheme's pass
# A text is handed back only if the chance that it is a miscorrection is below TRUST (see read_modules)
TRUST = 1e-12
ERASURES = (0, 2, 4, 6, 8, 10, 12)  # least confident codewords erased per block, tried in turn
COARSE_STEPS = (0.5,)  # module pitches the grid's corners move by while refining, on a smoothed copy
FINE_STEPS = (0.25, 0.12)  # and then on the frame itself
EQUALIZER_ITERATIONS = 20
CLIMB_MOVES = 4  # moves at most per step size
# The sampling's Gaussian smoothing as fractions of the module pitch, tried in turn (unbudgeted, these two
# read 10 of the cascade's 24 missed mixtures; none, 0.5, or 0.35 and 0.5 for modules over 3.5 px fewer)
SMOOTHING = (0.2, 0.35)
# Known modules read wrong at the first smoothing beyond which no missed mixture was read (the most a
# read one had was 8.9 %): the frame is given up without equalizing or decoding
HOPELESS = 0.10
TEXTURE_WINDOW = 5  # half-size px of the local spread that finds the code on a larger screen
BUDGET_MS = 8.0  # thread CPU one frame may spend here before the remaining variants are skipped

_CORNERS = np.array([[0, 0], [L.SIZE, 0], [L.SIZE, L.SIZE], [0, L.SIZE]], np.float32)
_FIXED_RC = np.argwhere(L.FIXED)
_FIXED_DARK = L.FUNCTION_DARK[L.FIXED]
_CONTRAST_WEIGHTS = np.where(_FIXED_DARK, -1 / _FIXED_DARK.sum(), 1 / (~_FIXED_DARK).sum())
_FIXED_UV1 = np.stack([_FIXED_RC[:, 1] + 0.5, _FIXED_RC[:, 0] + 0.5, np.ones(len(_FIXED_RC))])
_ALL_RC = np.argwhere(np.ones((L.SIZE, L.SIZE), bool))
_MOVES = np.array([(1, 0), (-1, 0), (0, 1), (0, -1)], np.float32)
_RS = reedsolo.RSCodec(L.BLOCK_EC)
_MASKS = tuple(L.mask_grid(m) for m in range(8))
_FORMAT_RC = np.array(L.format_positions(0) + L.format_positions(1))
_FORMAT_DARK = tuple(
    np.array([(L.format_word(L.LEVEL_M, m) >> i) & 1 for i in range(15)] * 2, bool) for m in range(8)
)


def _homography(corners: Quad) -> npt.NDArray[np.float64]:
    return np.asarray(cv2.getPerspectiveTransform(_CORNERS, corners), np.float64)


def _points(h: npt.NDArray[np.float64], rc: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
    """Frame positions of the centres of modules (row, column) under module->frame homography h."""
    uv = np.empty((1, len(rc), 2), np.float32)
    uv[0, :, 0] = rc[:, 1] + 0.5
    uv[0, :, 1] = rc[:, 0] + 0.5
    return np.asarray(cv2.perspectiveTransform(uv, h), np.float32)


def _sample(img: npt.NDArray[np.float32], pts: npt.NDArray[np.float32]) -> Floats:
    out = cv2.remap(img, pts[..., 0], pts[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    vals: Floats = np.asarray(out, np.float64).ravel()
    return vals


def _contrast(img: npt.NDArray[np.float32], corner_sets: npt.NDArray[np.float32]) -> Floats:
    """For each candidate grid (a stack of corner sets), how much lighter the known light modules
    sample than the dark ones."""
    xyw = (_homographies(corner_sets) @ _FIXED_UV1).astype(np.float32)  # (candidates, 3, modules)
    x, y = (np.ascontiguousarray(xyw[:, i] / xyw[:, 2]).reshape(1, -1) for i in (0, 1))
    vals = np.asarray(cv2.remap(img, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), np.float32)
    out: Floats = vals.reshape(len(corner_sets), -1).astype(np.float64) @ _CONTRAST_WEIGHTS
    return out


def _homographies(corners: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """The module->frame homographies of a stack of corner sets at once (the 8x8 direct linear solve)."""
    k = len(corners)
    u, v = _CORNERS[:, 0].astype(np.float64), _CORNERS[:, 1].astype(np.float64)
    x, y = corners[:, :, 0].astype(np.float64), corners[:, :, 1].astype(np.float64)
    a = np.zeros((k, 8, 8))
    a[:, 0:4, 0], a[:, 0:4, 1], a[:, 0:4, 2] = u, v, 1
    a[:, 0:4, 6], a[:, 0:4, 7] = -u * x, -v * x
    a[:, 4:8, 3], a[:, 4:8, 4], a[:, 4:8, 5] = u, v, 1
    a[:, 4:8, 6], a[:, 4:8, 7] = -u * y, -v * y
    sol = np.linalg.solve(a, np.concatenate([x, y], axis=1)[..., None])[..., 0]
    out: npt.NDArray[np.float64] = np.concatenate([sol, np.ones((k, 1))], axis=1).reshape(k, 3, 3)
    return out


def code_corners(quad: Quad, border: float = SCREEN_BORDER) -> list[Quad]:
    """The code's corners for each of the four ways `quad` (the code and `border` modules around it)
    may be turned."""
    n = L.SIZE + 2 * border
    unit = np.array([[0, 0], [n, 0], [n, n], [0, n]], np.float32) - np.float32(border)
    out = []
    for turn in range(4):
        h = cv2.getPerspectiveTransform(unit, np.roll(quad, -turn, axis=0).astype(np.float32))
        out.append(cv2.perspectiveTransform(_CORNERS[None], h)[0].astype(np.float32))
    return out


def textured_quad(img: npt.NDArray[np.float32], screen: Quad) -> Quad | None:
    """The corners of the largest textured region inside the screen (the code on a page otherwise
    plain), clockwise as seen: the local standard deviation over 10 px at half size, away from the
    screen's own edge, Otsu's threshold, the largest contour's hull approximated by four corners."""
    half = cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    mean = cv2.blur(half, (TEXTURE_WINDOW, TEXTURE_WINDOW))
    spread = np.sqrt(np.maximum(cv2.blur(half * half, (TEXTURE_WINDOW, TEXTURE_WINDOW)) - mean * mean, 0))
    screen_mask = np.zeros(half.shape, np.uint8)
    cv2.fillConvexPoly(screen_mask, np.rint(screen / 2).astype(np.int32), 255)
    inside = cv2.erode(screen_mask, np.ones((2 * TEXTURE_WINDOW + 1, 2 * TEXTURE_WINDOW + 1), np.uint8))
    spread = np.where(inside > 0, spread, 0)
    scaled = np.asarray(255 * spread / max(float(spread.max()), 1e-3), np.uint8)
    _, textured = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(textured, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    approx = cv2.approxPolyDP(hull, 0.04 * cv2.arcLength(hull, True), True)
    corners = approx if len(approx) == 4 else cv2.boxPoints(cv2.minAreaRect(hull))
    q = np.asarray(corners, np.float32).reshape(4, 2) * 2
    centre = q.mean(axis=0)
    out: Quad = q[np.argsort(np.arctan2(q[:, 1] - centre[1], q[:, 0] - centre[0]))]
    return out


def smoothed(img: npt.NDArray[np.float32], sigma: float) -> npt.NDArray[np.float32]:
    return np.asarray(cv2.GaussianBlur(img, (0, 0), sigma), np.float32) if sigma > 0 else img


def locate(frame: npt.NDArray[np.float32], screen: Quad) -> Quad:
    """The code's corners. The first guess is the code SCREEN_BORDER modules inside the screen (the
    scheme's pass), in the turn whose function patterns show best, its corners then moved while the
    known modules' contrast grows (coarse steps on a smoothed copy, fine ones on the frame). If its
    known modules still read more than HOPELESS wrong, the code's own edge is guessed too, the largest
    textured region on the screen (a code on a larger lit page), climbed the same way, and whichever
    grid reads its known modules better is kept."""
    guesses = code_corners(screen)
    pitch = float(np.linalg.norm(guesses[0][1] - guesses[0][0])) / L.SIZE
    soft = smoothed(frame, 0.5 * pitch)
    best = _climbed(frame, soft, guesses, pitch)
    wrong = known_errors(smoothed(frame, SMOOTHING[0] * pitch), best)
    textured = textured_quad(frame, screen) if wrong > HOPELESS else None
    if textured is None:
        return best
    other = code_corners(textured, 0.0)
    side = float(np.linalg.norm(other[0][1] - other[0][0])) / L.SIZE
    alternative = _climbed(frame, smoothed(frame, 0.5 * side), other, side)
    if known_errors(smoothed(frame, SMOOTHING[0] * side), alternative) < wrong:
        return alternative
    return best


def _climbed(
    frame: npt.NDArray[np.float32], soft: npt.NDArray[np.float32], guesses: list[Quad], pitch: float
) -> Quad:
    best = guesses[int(np.argmax(_contrast(soft, np.stack(guesses))))]
    for img, steps in ((soft, COARSE_STEPS), (frame, FINE_STEPS)):
        best = _climb(img, best, [s * pitch for s in steps])
    return best


def known_errors(img: npt.NDArray[np.float32], corners: Quad) -> float:
    """The share of the fixed function modules that the grid `corners` reads wrong on `img`."""
    return float(((levels(img, corners) > 0.5) != L.FUNCTION_DARK)[L.FIXED].mean())


def _climb(img: npt.NDArray[np.float32], best: Quad, steps: list[float]) -> Quad:
    """Hill-climb the four corners: each round scores the grid and every corner moved one step each
    way, then moves every corner that gained by its best step at once (the corners barely interact;
    a joint move that loses is undone by the next round's single steps)."""
    for step in steps:
        for _ in range(CLIMB_MOVES):
            moves = best[None, None] + np.zeros((4, len(_MOVES), 4, 2), np.float32)
            for k in range(4):
                moves[k, :, k] += _MOVES * step
            scores = _contrast(img, np.concatenate([best[None], moves.reshape(-1, 4, 2)]))
            singles = scores[1:].reshape(4, len(_MOVES))
            gains = np.flatnonzero(singles.max(axis=1) > scores[0])
            if not len(gains):
                break
            best = best.copy()
            for corner in (int(g) for g in gains):
                best[corner] = moves[corner, int(np.argmax(singles[corner])), corner]
    return best


def levels(img: npt.NDArray[np.float32], corners: Quad) -> Floats:
    """Each module's darkness, 0 at the light level and 1 at the dark level, both fitted as planes
    across the code to the known modules (the lighting falls off across the screen)."""
    vals = _sample(img, _points(_homography(corners), _ALL_RC))
    dark = _DESIGN @ np.linalg.lstsq(_DESIGN[_DARK_KNOWN], vals[_DARK_KNOWN], rcond=None)[0]
    light = _DESIGN @ np.linalg.lstsq(_DESIGN[_LIGHT_KNOWN], vals[_LIGHT_KNOWN], rcond=None)[0]
    out: Floats = ((light - vals) / np.maximum(light - dark, 1e-3)).reshape(L.SIZE, L.SIZE)
    return out


def equalize(y: Floats) -> Floats | None:
    """The modules' darkness with the blur's spill from their neighbours taken out: a symmetric 3x3
    kernel fitted on the known modules, the box-constrained least-squares modules under it (projected
    gradient, known modules held), then each module's own observation less its neighbours' spill at
    those estimates. None if the kernel cannot be fitted."""
    feats = np.stack([f[_FIT_AT] for f in _NEIGHBOURS] + [np.ones(int(_FIT_AT.sum()))], axis=1)
    coef, *_ = np.linalg.lstsq(feats, y[_FIT_AT], rcond=None)
    w0, w1, w2, b = (float(x) for x in coef)
    if not 0.2 < w0 < 3 or abs(w1) > w0 or abs(w2) > w0:
        return None  # the known neighbourhoods did not pin the kernel down
    k = np.array([[w2, w1, w2], [w1, w0, w1], [w2, w1, w2]], np.float32)
    step = 1.0 / float(np.abs(k).sum()) ** 2
    target = (np.pad(y, 1) - b).astype(np.float32)
    m = np.where(_FREE, np.clip(target, 0, 1), _KNOWN_DARK)
    prev, t = m, 1.0
    z = m
    for _ in range(EQUALIZER_ITERATIONS):  # FISTA: projected gradient with Nesterov's momentum
        residual = (cv2.filter2D(z, -1, k, borderType=cv2.BORDER_CONSTANT) - target) * _INNER
        grad = cv2.filter2D(residual, -1, k, borderType=cv2.BORDER_CONSTANT)
        m = np.where(_FREE, np.clip(z - step * grad, 0, 1), z)
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        z = m + ((t - 1) / t_next) * (m - prev)
        prev, t = m, t_next
    # each module's own observation with its neighbours' spill (at their estimates) taken out, unclipped:
    # how far it lies from the threshold is its confidence, which the clipped estimate has lost
    others = cv2.filter2D(m, -1, k, borderType=cv2.BORDER_CONSTANT) - k[1, 1] * m
    own = (target - others) / k[1, 1]
    out: Floats = np.where(_FREE, own, m)[1:-1, 1:-1].astype(np.float64)
    return out


def read_modules(margin: Floats, tries: int = 1) -> bytes | None:
    """The text of a symbol given each module's signed confidence of being dark (positive), or None
    unless it decodes and checks exactly (see the module's docstring). `tries` is how many estimates of
    the same frame have been read so far, this one included: each is one more chance of a miscorrection."""
    fmt = margin[_FORMAT_RC[:, 0], _FORMAT_RC[:, 1]]
    mask = int(np.argmax([float(np.sum(np.where(d, fmt, -fmt))) for d in _FORMAT_DARK]))
    bit_margin = np.where(_MASKS[mask], -margin, margin)[L.BIT_ROWS, L.BIT_COLS]
    codewords = np.packbits(bit_margin > 0)
    confidence = np.abs(bit_margin).reshape(-1, 8).min(axis=1)
    words = codewords[_BLOCK_ORDER]  # (blocks, 49) in each block's own order
    syndromes = _syndromes(words)
    data = bytearray()
    chance = np.zeros(L.BLOCKS)  # each block's chance of a miscorrection, were its word a random one
    for block in range(L.BLOCKS):
        got = _decode_block(words[block], confidence[_BLOCK_ORDER[block]], block, syndromes[block])
        if got is None:
            return None
        data += got[0]
        chance[block] = got[1]
    parsed = _parse(bytes(data))
    if parsed is None:
        return None
    text, structure = parsed
    # a wrong text needs some block miscorrected and the structure's bits in it to come out right by chance
    if tries * float(np.sum(chance * structure)) >= TRUST:
        return None
    return text


def _syndromes(words: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The BLOCK_EC syndromes of every block at once: each block's polynomial evaluated at alpha^j
    (Horner's rule over GF(256), vectorised over blocks and j); all zero for a codeword."""
    s = np.zeros((len(words), L.BLOCK_EC), np.uint8)
    for i in range(words.shape[1]):
        s = _GF_MUL[s, _ALPHA_POWERS] ^ words[:, i : i + 1]
    return s


def _decode_block(
    received: npt.NDArray[np.uint8], confidence: Floats, block: int, syndromes: npt.NDArray[np.uint8]
) -> tuple[bytes, float] | None:
    """The block's data and the chance that a random word would have been accepted where it was: the
    first of the erasure counts (least confident codewords first) at which it decodes, the prefix's
    known codewords written in and left unchanged by the correction."""
    fixed = _KNOWN_CODEWORDS.get(block, {})
    word = bytearray(received.tobytes())
    if not syndromes.any() and all(word[i] == v for i, v in fixed.items()):
        return bytes(word[: L.BLOCK_DATA]), 0.0
    for i, value in fixed.items():
        word[i] = value
    candidates = [int(i) for i in np.argsort(confidence, kind="stable") if int(i) not in fixed]
    chance = 0.0
    for most in ERASURES:
        erased = candidates[:most]
        try:
            _, full, errata = _RS.decode(word, erase_pos=erased or None)
        except reedsolo.ReedSolomonError:
            continue
        errors = len(set(errata) - set(erased))
        chance += _miscorrection(len(erased), errors)
        if any(full[i] != v for i, v in fixed.items()):
            continue
        return bytes(full[: L.BLOCK_DATA]), chance
    return None


def _miscorrection(erased: int, errors: int) -> float:
    """The chance that a random word, its `erased` positions left out, lies within `errors` symbols of
    some codeword: the words that near a codeword over all words, C(n', e) 255^e / 256^(n' - k)."""
    n = L.BLOCK_DATA + L.BLOCK_EC - erased
    return float(math.comb(n, errors) * 255.0**errors / 256.0 ** (L.BLOCK_EC - erased))


def _parse(data: bytes) -> tuple[bytes, Floats] | None:
    """One alphanumeric segment, the terminator and the pad codewords, nothing else: the bytes of a
    `SW1:` text with valid base45 and, for each block, the chance that random data in it would have
    passed those checks (the mode, terminator and pad bits, each character pair's value, each base45
    triple's); or None."""
    bits = np.unpackbits(np.frombuffer(data, np.uint8))
    log2_pass = np.zeros(len(bits))  # by bit position: log2 of the chance a random bit there passes
    pos = 0

    def take(n: int) -> int:
        nonlocal pos
        v = 0
        for b in bits[pos : pos + n]:
            v = (v << 1) | int(b)
        pos += n
        return v

    if take(4) != 0b0010:
        return None
    log2_pass[:4] = -1.0
    count = take(9)
    if 13 + (count // 2) * 11 + (count % 2) * 6 > len(bits):
        return None
    chars = bytearray()
    starts = []  # where each character's bits begin
    for _ in range(count // 2):
        starts += [pos, pos]
        log2_pass[pos] += _LOG2_PAIR
        v = take(11)
        if v >= 45 * 45:
            return None
        chars += ALPHANUMERIC[v // 45 : v // 45 + 1] + ALPHANUMERIC[v % 45 : v % 45 + 1]
    if count % 2:
        starts.append(pos)
        log2_pass[pos] += _LOG2_SINGLE
        v = take(6)
        if v >= 45:
            return None
        chars += ALPHANUMERIC[v : v + 1]
    rest = bits[pos:]
    terminator = min(len(rest), 4 + (-(pos + 4)) % 8)  # four zero bits, then zeros to a byte boundary
    if rest[:terminator].any():
        return None
    pads = np.packbits(rest[terminator:]).tobytes()
    if pads != (b"\xec\x11" * L.DATA_CODEWORDS)[: len(pads)]:
        return None
    log2_pass[pos:] = -1.0
    text = chars.decode("ascii")
    if not text.startswith(PREFIX):
        return None
    try:
        b45decode(text[len(PREFIX) :])
    except ValueError:
        return None
    for first in range(len(PREFIX), len(text) - 2, 3):
        log2_pass[starts[first]] += _LOG2_TRIPLE
    per_block: Floats = np.exp2(log2_pass.reshape(L.BLOCKS, -1).sum(axis=1))
    return bytes(chars), per_block


def _known_codewords() -> dict[int, dict[int, int]]:
    """Data codewords every `SW1:` text has whatever its length: those wholly inside the prefix's
    two character pairs (bits 13-34 of the stream, after the mode and the 9-bit count)."""
    pairs = [
        ALPHANUMERIC.index(PREFIX[i].encode()) * 45 + ALPHANUMERIC.index(PREFIX[i + 1].encode())
        for i in (0, 2)
    ]
    stream = "".join(format(p, "011b") for p in pairs)  # starts at bit 13
    out: dict[int, dict[int, int]] = {}
    for byte in range(L.DATA_CODEWORDS):
        lo, hi = byte * 8 - 13, byte * 8 - 13 + 8
        if lo >= 0 and hi <= len(stream):
            out.setdefault(byte // L.BLOCK_DATA, {})[byte % L.BLOCK_DATA] = int(stream[lo:hi], 2)
    return out


def _neighbour_features() -> tuple[list[Floats], npt.NDArray[np.bool_]]:
    """For the equalizer's fit: the dark count of each module's centre, edge and corner neighbours
    (outside the code is the light quiet zone), and where all nine are known."""
    known = np.pad(L.FIXED, 1, constant_values=True)
    dark = np.pad(L.FUNCTION_DARK & L.FIXED, 1).astype(np.float64)
    n = L.SIZE

    def shifted(a: npt.NDArray[np.generic], dr: int, dc: int) -> npt.NDArray[np.generic]:
        return a[1 + dr : 1 + dr + n, 1 + dc : 1 + dc + n]

    edges = ((0, 1), (0, -1), (1, 0), (-1, 0))
    diagonals = ((1, 1), (1, -1), (-1, 1), (-1, -1))
    feats = [
        np.asarray(shifted(dark, 0, 0), np.float64),
        sum((np.asarray(shifted(dark, *d), np.float64) for d in edges), np.zeros((n, n))),
        sum((np.asarray(shifted(dark, *d), np.float64) for d in diagonals), np.zeros((n, n))),
    ]
    at = np.ones((n, n), bool)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            at &= np.asarray(shifted(known, dr, dc), bool)
    return feats, at


_r, _c = np.mgrid[0 : L.SIZE, 0 : L.SIZE]
_DESIGN = np.stack([np.ones(_r.size), _r.ravel() / L.SIZE, _c.ravel() / L.SIZE], axis=1)
_DARK_KNOWN = (L.FIXED & L.FUNCTION_DARK).ravel()
_LIGHT_KNOWN = (L.FIXED & ~L.FUNCTION_DARK).ravel()
_KNOWN_DARK = np.pad(L.FUNCTION_DARK & L.FIXED, 1).astype(np.float32)  # the quiet zone around is light
_FREE = np.pad(~L.FIXED, 1)
_INNER = np.pad(np.ones((L.SIZE, L.SIZE), np.float32), 1)
_NEIGHBOURS, _FIT_AT = _neighbour_features()
_BLOCK_INDEX = [
    np.array([L.interleaved_index(b, i) for i in range(L.BLOCK_DATA + L.BLOCK_EC)]) for b in range(L.BLOCKS)
]
_KNOWN_CODEWORDS = _known_codewords()
_BLOCK_ORDER = np.array(_BLOCK_INDEX)


def _gf_tables() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.intp]]:
    """GF(256) under QR's polynomial 0x11d: the full product table, and alpha^0..alpha^(BLOCK_EC-1)."""
    exp = np.zeros(512, np.intp)
    log = np.zeros(256, np.intp)
    x = 1
    for i in range(255):
        exp[i], log[x] = x, i
        x <<= 1
        if x & 0x100:
            x ^= 0x11D
    exp[255:510] = exp[:255]
    a = np.arange(256)
    table = np.where((a[:, None] > 0) & (a[None, :] > 0), exp[log[a][:, None] + log[a][None, :]], 0)
    return table.astype(np.uint8), exp[: L.BLOCK_EC]


_GF_MUL, _ALPHA_POWERS = _gf_tables()
# log2 of the chance that random bits pass a check: an alphanumeric pair (11 bits, 2,025 values of
# 2,048), a lone character (6 bits, 45 of 64), a base45 triple (45^3 values, 65,536 of them valid)
_LOG2_PAIR = math.log2(45 * 45 / 2048)
_LOG2_SINGLE = math.log2(45 / 64)
_LOG2_TRIPLE = math.log2(65536 / 45**3)


def read_screen(
    frame: Frame,
    screen: Quad,
    *,
    budget_ms: float | None = BUDGET_MS,
    clock: Callable[[], float] = time.thread_time,
) -> bytes | None:
    """The `SW1:` text of the code on the screen quadrilateral `screen` (device/hw/cascade.py's
    find_screen), or None; no further variant starts once `budget_ms` of thread CPU is spent."""
    t0 = clock()
    h, w = frame.shape
    x0, y0 = (max(0, int(np.floor(screen[:, i].min())) - 8) for i in (0, 1))
    x1, y1 = min(w, int(np.ceil(screen[:, 0].max())) + 8), min(h, int(np.ceil(screen[:, 1].max())) + 8)
    img = frame[y0:y1, x0:x1].astype(np.float32)
    corners = locate(img, (screen - np.array([x0, y0], np.float32)).astype(np.float32))
    pitch = float(np.linalg.norm(corners[1] - corners[0])) / L.SIZE
    for i, smooth in enumerate(SMOOTHING):
        if i and budget_ms is not None and (clock() - t0) * 1000 >= budget_ms:
            break  # the first variant always runs: the grid it reads is already paid for
        y = levels(smoothed(img, smooth * pitch), corners)
        if not i and float(((y > 0.5) != L.FUNCTION_DARK)[L.FIXED].mean()) > HOPELESS:
            return None  # the grid's known modules already read too badly for its data to decode
        m = equalize(y)
        got = None if m is None else read_modules(2 * m - 1, tries=i + 1)
        if got is not None:
            return got
    return None
