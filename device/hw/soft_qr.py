"""A soft-decision reader for the scheme's QR symbol, for frames zxing-cpp cannot read.

The cascade (device/hw/cascade.py) finds the phone's screen; this reader takes the code's module grid
from it (the pass's lit screen is the code and SCREEN_BORDER modules around it), refines the grid on the
function patterns every version 7 symbol has (finders, timing and alignment patterns, version info),
then estimates every module from all the pixels over it: sampled 4x4 a module against the lighting
fitted to the known modules, the blur fitted on them too, and the modules solved under that blur by
box-constrained least squares; each keeps its distance from the threshold as its confidence. The format
is the level-M word nearest the two soft copies; the codewords are unmasked and de-interleaved, and each
Reed-Solomon block is decoded with 0, 2, 4, ... of its least confident codewords erased (an erasure
costs one check symbol, an error two). The two data codewords wholly inside the `SW1:` prefix are known
plaintext and are written in. The blocks that decode become known modules, with the format word, and the
modules are solved again: their blur's spill on the others is then taken out exactly, and the other
blocks are decoded again, until all decode or a solve decodes no more.

A text is returned only if every block decodes, the bit stream is one alphanumeric segment ending in the
standard terminator and pad codewords, the text is `SW1:` followed by valid base45, and the chance that
it is a miscorrection is below TRUST: summed over the blocks, the share of random words that would have
decoded as well (from the erasures and errors used, times the decodes that could have accepted the
block) times the chance that random data there would have passed the structure's checks (mode,
terminator and pad bits, character pairs, base45 triples). Anything else is None, never a guess.
"""

from __future__ import annotations

import math

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
CLIMB_MOVES = 4  # moves at most per step size
# Known modules read wrong (sampled at their centres after a Gaussian of CHECK_SMOOTHING pitches) beyond
# which no missed mixture was read (the most a read one had was 9.4 %): the frame is given up before
# the deconvolution and decoding
CHECK_SMOOTHING = 0.2
HOPELESS = 0.15
SUBSAMPLES = 4  # samples a module each way for deconvolved()
QUIET_SAMPLED = 2  # modules of quiet zone sampled around the code: known light, they pin its edge
BLUR_MODULES = (0.3, 0.4, 0.5, 0.6, 0.75)  # the blur sigmas in module pitches, the best fit kept
DECONVOLUTION_ITERATIONS = 30
TEXTURE_WINDOW = 5  # half-size px of the local spread that finds the code on a larger screen

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
    wrong = known_errors(smoothed(frame, CHECK_SMOOTHING * pitch), best)
    textured = textured_quad(frame, screen) if wrong > HOPELESS else None
    if textured is None:
        return best
    other = code_corners(textured, 0.0)
    side = float(np.linalg.norm(other[0][1] - other[0][0])) / L.SIZE
    alternative = _climbed(frame, smoothed(frame, 0.5 * side), other, side)
    if known_errors(smoothed(frame, CHECK_SMOOTHING * side), alternative) < wrong:
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


Model = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]  # the normal equations: right side, kernel


def blur_model(img: npt.NDArray[np.float32], corners: Quad) -> Model | None:
    """The least-squares problem of the modules under the frame's blur: the code and a margin of its
    quiet zone sampled SUBSAMPLES times a module each way, against dark and light planes fitted to the
    known modules; the Gaussian blur (one of BLUR_MODULES, in module pitches) and the gain that best
    explain the samples whose modules are all known. Its normal equations are a small convolution over
    the (padded) module grid: their right side and kernel. None if the known modules barely show."""
    r, n = SUBSAMPLES, _PADDED * SUBSAMPLES
    pts = cv2.perspectiveTransform(_FINE_UV, _homography(corners))[0]
    x, y = (np.ascontiguousarray(pts[:, i].reshape(n, n)) for i in (0, 1))
    vals = cv2.remap(img, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    means = vals.reshape(_PADDED, r, _PADDED, r).mean(axis=(1, 3), dtype=np.float64)
    centres = means[QUIET_SAMPLED:-QUIET_SAMPLED, QUIET_SAMPLED:-QUIET_SAMPLED].ravel()
    dark, light = (_plane(pinv @ centres[known]) for pinv, known in _PLANE_FITS)
    darkness = ((light - vals) / np.maximum(light - dark, 1e-3)).astype(np.float32)
    # the blur whose prediction of the known samples, scaled by a gain, explains most of their variance
    observed = darkness[_FINE_FIT]
    fits = _BLUR_PREDICTIONS @ (observed - observed.mean())
    best = int(np.argmax(fits * fits / _BLUR_ENERGY))
    gain = float(fits[best] / _BLUR_ENERGY[best])
    if gain < 0.2:
        return None
    offset = float(observed.mean()) - gain * float(_BLUR_MEANS[best])
    g, k = _BLURS[best]
    return _adjoint((darkness - offset) / gain, g), k


def solve(model: Model, free: npt.NDArray[np.bool_], held: npt.NDArray[np.float32]) -> Floats:
    """The box-constrained least-squares modules (FISTA, the `free` ones in [0, 1], the others `held`),
    then each free module's own estimate with its neighbours' spill at their estimates taken out,
    unclipped: how far it lies from 0.5 is its confidence. Padded grids in, the code's grid out."""
    rhs, k = model
    centre = float(k[_NORMAL_REACH, _NORMAL_REACH])
    step = 1.0 / float(np.abs(k).sum())
    m = np.where(free, np.clip(rhs / centre, 0, 1), held).astype(np.float32)
    prev, z, t = m, m, 1.0
    for _ in range(DECONVOLUTION_ITERATIONS):  # FISTA: projected gradient with Nesterov's momentum
        grad = cv2.filter2D(z, -1, k, borderType=cv2.BORDER_CONSTANT) - rhs
        m = np.where(free, np.clip(z - step * grad, 0, 1), z).astype(np.float32)
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        z = (m + ((t - 1) / t_next) * (m - prev)).astype(np.float32)
        prev, t = m, t_next
    own = m + (rhs - cv2.filter2D(m, -1, k, borderType=cv2.BORDER_CONSTANT)) / centre
    q = QUIET_SAMPLED
    out: Floats = np.where(free, own, m)[q:-q, q:-q].astype(np.float64)
    return out


def deconvolved(img: npt.NDArray[np.float32], corners: Quad) -> Floats | None:
    """Each module's darkness from all the pixels over it (blur_model, then solve), or None."""
    model = blur_model(img, corners)
    return None if model is None else solve(model, _PAD_FREE, _PAD_KNOWN_DARK)


def _plane(coef: Floats) -> npt.NDArray[np.float32]:
    """A lighting plane fitted on the module grid, at every sample."""
    out: npt.NDArray[np.float32] = (
        coef[0] + coef[1] * _FINE_AXIS[:, None] + coef[2] * _FINE_AXIS[None, :]
    ).astype(np.float32)
    return out


def _adjoint(samples: npt.NDArray[np.float32], g: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The blur's adjoint, then each module's sum over its samples (the sampling's adjoint)."""
    r = SUBSAMPLES
    blurred = cv2.sepFilter2D(samples, -1, g, g, borderType=cv2.BORDER_CONSTANT)
    out: npt.NDArray[np.float32] = blurred.reshape(_PADDED, r, _PADDED, r).sum(axis=(1, 3))
    return out


Blocks = list[tuple[bytes, float] | None]  # per block: its corrected codewords and chance, or None


def read_modules(margin: Floats) -> bytes | None:
    """The text of a symbol given each module's signed confidence of being dark (positive), or None
    unless it decodes and checks exactly (see the module's docstring)."""
    return _accepted(_decode_blocks(margin, _mask(margin), [None] * L.BLOCKS))


def _mask(margin: Floats) -> int:
    """The data mask of the level-M format word nearest both soft copies."""
    fmt = margin[_FORMAT_RC[:, 0], _FORMAT_RC[:, 1]]
    return int(np.argmax([float(np.sum(np.where(d, fmt, -fmt))) for d in _FORMAT_DARK]))


def _decode_blocks(margin: Floats, mask: int, blocks: Blocks, solves: int = 1) -> Blocks:
    """`blocks` with those not yet decoded decoded from `margin` where they can be (`solves`: how many
    estimates of the frame's modules the blocks have been decoded from, this one included)."""
    bit_margin = np.where(_MASKS[mask], -margin, margin)[L.BIT_ROWS, L.BIT_COLS]
    words = np.packbits(bit_margin > 0)[_BLOCK_ORDER]  # (blocks, 49) in each block's own order
    confidence = np.abs(bit_margin).reshape(-1, 8).min(axis=1)
    syndromes = _syndromes(words)
    return [
        got
        if got is not None
        else _decode_block(words[b], confidence[_BLOCK_ORDER[b]], b, syndromes[b], solves * len(ERASURES))
        for b, got in enumerate(blocks)
    ]


def _accepted(blocks: Blocks) -> bytes | None:
    """The text if every block decoded and the whole checks (see the module's docstring)."""
    if any(b is None for b in blocks):
        return None
    data = b"".join(b[0][: L.BLOCK_DATA] for b in blocks if b is not None)
    chance = np.array([b[1] for b in blocks if b is not None])
    parsed = _parse(data)
    if parsed is None:
        return None
    text, structure = parsed
    # a wrong text needs some block miscorrected and the structure's bits in it to come out right by chance
    if float(np.sum(chance * structure)) >= TRUST:
        return None
    return text


def _held(blocks: Blocks, mask: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float32]]:
    """The deconvolution's free modules and held values with the format word of `mask` and the
    modules of every decoded block known."""
    known = np.pad(L.FIXED, QUIET_SAMPLED, constant_values=True)
    held = _PAD_KNOWN_DARK.copy()
    q = QUIET_SAMPLED
    rows, cols = _FORMAT_RC[:, 0] + q, _FORMAT_RC[:, 1] + q
    known[rows, cols] = True
    held[rows, cols] = _FORMAT_DARK[mask]
    for b, got in enumerate(blocks):
        if got is not None:
            r, c = _BLOCK_ROWS[b], _BLOCK_COLS[b]
            bits = np.unpackbits(np.frombuffer(got[0], np.uint8)).astype(bool)
            known[r + q, c + q] = True
            held[r + q, c + q] = bits ^ _MASKS[mask][r, c]
    return ~known, held


def _syndromes(words: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The BLOCK_EC syndromes of every block at once: each block's polynomial evaluated at alpha^j
    (Horner's rule over GF(256), vectorised over blocks and j); all zero for a codeword."""
    s = np.zeros((len(words), L.BLOCK_EC), np.uint8)
    for i in range(words.shape[1]):
        s = _GF_MUL[s, _ALPHA_POWERS] ^ words[:, i : i + 1]
    return s


def _decode_block(
    received: npt.NDArray[np.uint8],
    confidence: Floats,
    block: int,
    syndromes: npt.NDArray[np.uint8],
    tries: int,
) -> tuple[bytes, float] | None:
    """The block's corrected codewords at the first of the erasure counts (least confident codewords
    first) at which it decodes, the prefix's known codewords written in and left unchanged by the
    correction, and then at the next counts while they find the same codeword more surely (None if one
    finds another); and the chance that a random word would have decoded as well at one of the `tries`
    decodes that could have accepted it (a union bound: each at most the share of words within the
    errors found of a codeword, with as many erasures)."""
    fixed = _KNOWN_CODEWORDS.get(block, {})
    word = bytearray(received.tobytes())
    if not syndromes.any() and all(word[i] == v for i, v in fixed.items()):
        return bytes(word), tries * _miscorrection(0, 0)
    for i, value in fixed.items():
        word[i] = value
    candidates = [int(i) for i in np.argsort(confidence, kind="stable") if int(i) not in fixed]
    best: tuple[bytes, float] | None = None
    for most in ERASURES:
        erased = candidates[:most]
        try:
            _, full, errata = _RS.decode(word, erase_pos=erased or None)
        except reedsolo.ReedSolomonError:
            full = None
        if full is None or any(full[i] != v for i, v in fixed.items()):
            if best is None:
                continue
            break
        chance = tries * _miscorrection(len(erased), len(set(errata) - set(erased)))
        if best is not None and bytes(full) != best[0]:
            return None  # two codewords near the word: it is not to be trusted either way
        if best is not None and chance >= best[1]:
            break
        best = (bytes(full), chance)  # more erasures may find the same codeword with fewer errors left
    return best


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


_r, _c = np.mgrid[0 : L.SIZE, 0 : L.SIZE]
_DESIGN = np.stack([np.ones(_r.size), _r.ravel() / L.SIZE, _c.ravel() / L.SIZE], axis=1)
_DARK_KNOWN = (L.FIXED & L.FUNCTION_DARK).ravel()
_LIGHT_KNOWN = (L.FIXED & ~L.FUNCTION_DARK).ravel()
_BLOCK_INDEX = [
    np.array([L.interleaved_index(b, i) for i in range(L.BLOCK_DATA + L.BLOCK_EC)]) for b in range(L.BLOCKS)
]
_KNOWN_CODEWORDS = _known_codewords()
_BLOCK_ORDER = np.array(_BLOCK_INDEX)
# each block's modules, its codewords' bits in order (most significant first)
_BLOCK_BITS = (_BLOCK_ORDER[:, :, None] * 8 + np.arange(8)).reshape(L.BLOCKS, -1)
_BLOCK_ROWS, _BLOCK_COLS = L.BIT_ROWS[_BLOCK_BITS], L.BIT_COLS[_BLOCK_BITS]


def _fine_tables() -> tuple[
    npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.float32]
]:
    """For deconvolved(): the samples' module coordinates (the quiet zone margin included), the known
    dark modules and a lone central module as samples, and the samples whose modules are all known."""
    r, q = SUBSAMPLES, QUIET_SAMPLED
    n = _PADDED * r
    fine = (np.arange(n) + 0.5) / r - q
    u, v = np.meshgrid(fine, fine)
    uv = np.stack([u.ravel(), v.ravel()], axis=1)[None].astype(np.float32)
    known = np.pad(L.FIXED, q, constant_values=True).astype(np.uint8)
    fit = cv2.erode(known, np.ones((3, 3), np.uint8), borderValue=1) > 0
    dark = np.pad(L.FIXED & L.FUNCTION_DARK, q)
    delta = np.zeros((_PADDED, _PADDED), bool)
    delta[_PADDED // 2, _PADDED // 2] = True

    def up(a: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        out: npt.NDArray[np.bool_] = np.repeat(np.repeat(a, r, axis=0), r, axis=1)
        return out

    return uv, up(dark).astype(np.float32), up(fit), up(delta).astype(np.float32)


def _blur_tables() -> tuple[
    list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]], npt.NDArray[np.float64], Floats, Floats
]:
    """For each of BLUR_MODULES: its 1-D Gaussian over the samples and the normal equations' kernel
    over the modules; the known modules' samples under it (centred), their energy and their mean."""
    blurs, predictions = [], []
    c, reach = _PADDED // 2, _NORMAL_REACH
    for sigma in BLUR_MODULES:
        # OpenCV's Gaussian, reaching 3 sigma each way
        r = sigma * SUBSAMPLES
        g = cv2.getGaussianKernel(2 * math.ceil(3 * r) + 1, r, cv2.CV_64F).ravel().astype(np.float32)
        spread = np.asarray(
            cv2.sepFilter2D(_FINE_DELTA, -1, g, g, borderType=cv2.BORDER_CONSTANT), np.float32
        )
        h = _adjoint(spread, g)
        blurs.append((g, np.ascontiguousarray(h[c - reach : c + reach + 1, c - reach : c + reach + 1])))
        blurred = cv2.sepFilter2D(_FINE_KNOWN_DARK, -1, g, g, borderType=cv2.BORDER_CONSTANT)
        predictions.append(np.asarray(blurred, np.float64)[_FINE_FIT])
    p = np.array(predictions)
    means = p.mean(axis=1)
    centred = p - means[:, None]
    return blurs, centred, (centred**2).sum(axis=1), means


_PADDED = L.SIZE + 2 * QUIET_SAMPLED
_FINE_UV, _FINE_KNOWN_DARK, _FINE_FIT, _FINE_DELTA = _fine_tables()
_FINE_AXIS = ((np.arange(_PADDED * SUBSAMPLES) + 0.5) / SUBSAMPLES - QUIET_SAMPLED - 0.5) / L.SIZE
_PLANE_FITS = [(np.linalg.pinv(_DESIGN[known]), known) for known in (_DARK_KNOWN, _LIGHT_KNOWN)]
_PAD_FREE = np.pad(~L.FIXED, QUIET_SAMPLED)
_PAD_KNOWN_DARK = np.pad(L.FUNCTION_DARK & L.FIXED, QUIET_SAMPLED).astype(np.float32)
_NORMAL_REACH = 3  # modules each way the normal equations' kernel is kept (beyond: < 1e-3 of its centre)
_BLURS, _BLUR_PREDICTIONS, _BLUR_ENERGY, _BLUR_MEANS = _blur_tables()


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


def read_screen(frame: Frame, screen: Quad) -> bytes | None:
    """The `SW1:` text of the code on the screen quadrilateral `screen` (device/hw/cascade.py's
    find_screen), or None."""
    h, w = frame.shape
    x0, y0 = (max(0, int(np.floor(screen[:, i].min())) - 8) for i in (0, 1))
    x1, y1 = min(w, int(np.ceil(screen[:, 0].max())) + 8), min(h, int(np.ceil(screen[:, 1].max())) + 8)
    img = frame[y0:y1, x0:x1].astype(np.float32)
    corners = locate(img, (screen - np.array([x0, y0], np.float32)).astype(np.float32))
    pitch = float(np.linalg.norm(corners[1] - corners[0])) / L.SIZE
    if known_errors(smoothed(img, CHECK_SMOOTHING * pitch), corners) > HOPELESS:
        return None  # the grid's known modules already read too badly for its data to decode
    model = blur_model(img, corners)
    if model is None:
        return None
    # the blocks that decode are known modules for the next solve: their spill on the others' is then
    # taken out exactly, and those may decode in turn
    free, held = _PAD_FREE, _PAD_KNOWN_DARK
    blocks: Blocks = [None] * L.BLOCKS
    mask = None
    for solves in range(1, L.BLOCKS + 1):
        margin = 2 * solve(model, free, held) - 1
        mask = _mask(margin) if mask is None else mask
        before = sum(b is not None for b in blocks)
        blocks = _decode_blocks(margin, mask, blocks, solves)
        done = sum(b is not None for b in blocks)
        if done == L.BLOCKS:
            return _accepted(blocks)
        if done == before:
            return None
        free, held = _held(blocks, mask)
    return None  # unreachable: each solve decodes one more block or stops
