"""The soft QR reader: the layout against segno's encoder, clean symbols, and refusal beyond capacity."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import reedsolo
import segno

from device.hw import qr_layout as L
from device.hw import soft_qr as S
from device.hw.cascade import CascadeDecoder, find_screen, terminal_decoder
from device.hw.decoders import make_decoder
from device.hw.hard_frames import Hard, Params, draw_params, render_hard, scheme_text
from device.hw.testimages import qr_modules
from shared_crypto import SigningKey

KEY = SigningKey.from_seed(bytes(range(32)))


def _text(seed: int) -> str:
    return scheme_text(np.random.default_rng(seed), KEY)


def _modules(text: str, mask: int | None = None) -> np.ndarray:
    qr = segno.make_qr(text, error="m", boost_error=False, mask=mask)
    assert qr.version == L.VERSION
    return np.array(list(qr.matrix_iter(scale=1, border=0)), bool)


@pytest.mark.parametrize("mask", range(8))
def test_layout_matches_the_encoder(mask: int) -> None:
    m = _modules(_text(mask), mask)
    assert (m[L.FIXED] == L.FUNCTION_DARK[L.FIXED]).all()
    word = L.format_word(L.LEVEL_M, mask)
    for copy in (0, 1):
        bits = [m[r, c] for r, c in L.format_positions(copy)]
        assert bits == [bool((word >> i) & 1) for i in range(15)]
    codewords = np.packbits((m ^ L.mask_grid(mask))[L.BIT_ROWS, L.BIT_COLS])
    rs = reedsolo.RSCodec(L.BLOCK_EC)
    for b in range(L.BLOCKS):
        block = bytes(codewords[[L.interleaved_index(b, i) for i in range(L.BLOCK_DATA + L.BLOCK_EC)]])
        assert rs.check(block)[0]


@pytest.mark.parametrize("seed", range(4))
def test_clean_symbol_reads_exactly(seed: int) -> None:
    text = _text(seed)
    assert S.read_modules(np.where(_modules(text), 1.0, -1.0)) == text.encode()


def _flip_codewords(text: str, per_block: int, seed: int) -> np.ndarray:
    """The symbol's margins with `per_block` codewords of every RS block given wrong bits."""
    rng = np.random.default_rng(seed)
    m = _modules(text)
    margin = np.where(m, 1.0, -1.0)
    for b in range(L.BLOCKS):
        for i in rng.choice(L.BLOCK_DATA + L.BLOCK_EC, per_block, replace=False):
            k = L.interleaved_index(b, int(i))
            bit = int(rng.integers(0, 8))
            r, c = L.BIT_ROWS[k * 8 + bit], L.BIT_COLS[k * 8 + bit]
            margin[r, c] = -margin[r, c]
    return margin


def test_errors_within_capacity_are_corrected() -> None:
    text = _text(10)
    assert S.read_modules(_flip_codewords(text, 6, 1)) == text.encode()  # 2 * 6 <= 18


def test_errors_beyond_capacity_give_none_never_a_wrong_text() -> None:
    for seed in range(6):
        text = _text(20 + seed)
        assert S.read_modules(_flip_codewords(text, 12, seed)) is None


def test_unsure_errors_are_erased() -> None:
    """Ten wrong codewords a block are beyond hard decisions (2 * 10 > 18); with four of them the
    least sure, erasing those leaves six errors, which the block corrects (2 * 6 + 4 <= 18)."""
    text = _text(30)
    truth = np.where(_modules(text), 1.0, -1.0)
    margin = _flip_codewords(text, 10, 3)
    assert S.read_modules(margin) is None
    rng = np.random.default_rng(4)
    for b in range(L.BLOCKS):
        wrong = [i for i in range(L.BLOCK_DATA + L.BLOCK_EC) if _codeword_wrong(margin, truth, b, i)]
        for i in rng.choice(wrong, 4, replace=False):
            k = L.interleaved_index(b, int(i))
            rows, cols = L.BIT_ROWS[k * 8 : k * 8 + 8], L.BIT_COLS[k * 8 : k * 8 + 8]
            margin[rows, cols] *= 0.05  # wrong or right, this codeword's modules are barely over the line
    assert S.read_modules(margin) == text.encode()


def _codeword_wrong(margin: np.ndarray, truth: np.ndarray, block: int, i: int) -> bool:
    k = L.interleaved_index(block, i)
    rows, cols = L.BIT_ROWS[k * 8 : k * 8 + 8], L.BIT_COLS[k * 8 : k * 8 + 8]
    return bool((np.sign(margin[rows, cols]) != truth[rows, cols]).any())


def test_random_margins_never_read() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        assert S.read_modules(rng.normal(0, 1, (L.SIZE, L.SIZE))) is None


def test_wrong_prefix_refused() -> None:
    """A valid symbol of a text that is not `SW1:` + base45 is not handed back."""
    other = "XW1:" + _text(40)[4:]
    assert S.read_modules(np.where(_modules(other), 1.0, -1.0)) is None


def test_rendered_blurred_frame_reads_through_the_screen() -> None:
    text = _text(50)
    p = Params(4.5, 17.0, 0.02, 1.6, 30.0, 200.0, 0.05, 2.0, (Hard.BLUR,))
    frame = render_hard(text, p, np.random.default_rng(5))
    half = frame.reshape(240, 2, 320, 2).mean(axis=(1, 3)).astype(np.uint8)
    q = find_screen(half)
    assert q is not None
    assert S.read_screen(frame, q) == text.encode()


def test_cascade_uses_the_reader_last_only_when_asked() -> None:
    text = _text(60)
    frame = render_hard(
        text, Params(4.5, 17.0, 0.02, 1.6, 30.0, 200.0, 0.05, 2.0, (Hard.BLUR,)), np.random.default_rng(5)
    )
    never = CascadeDecoder(passes=[], soft_reader=False)
    last = CascadeDecoder(passes=[], soft_reader=True)
    assert never.decode_bytes(frame) == []
    assert last.decode_bytes(frame) == [text.encode()]
    assert last.stats.decoded == {"soft": 1}
    assert qr_modules(text).shape[0] == L.SIZE + 8


def test_hard_mixtures_read_exactly_or_not_at_all() -> None:
    """On hard-set mixtures (seeded), whatever the reader hands back is the encoded text."""
    rng = np.random.default_rng(4242)
    read = 0
    for _ in range(10):
        text = scheme_text(rng, KEY)
        frame = render_hard(text, draw_params(Hard.MIXTURE, rng), rng)
        q = find_screen(frame.reshape(240, 2, 320, 2).mean(axis=(1, 3)).astype(np.uint8))
        got = None if q is None else S.read_screen(frame, q)
        assert got in (None, text.encode())
        read += got is not None
    assert read > 0


def _screen_frame(modules: np.ndarray, px: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """An upright sharp frame of `modules` (the code, no quiet zone) on a lit screen, and its corners."""
    screen = np.pad(modules, S.SCREEN_BORDER)
    img = np.kron(np.where(screen, 30, 220), np.ones((px, px))).astype(np.uint8)
    frame = np.full((480, 640), 40, np.uint8)
    y0, x0 = 100, 180
    frame[y0 : y0 + img.shape[0], x0 : x0 + img.shape[1]] = img
    n = img.shape[0]
    return frame, np.array([[x0, y0], [x0 + n, y0], [x0 + n, y0 + n], [x0, y0 + n]], np.float32)


def test_sharp_function_patterns_around_random_data_give_none() -> None:
    """The grid is found and its known modules read perfectly, but the data is noise: nothing decodes."""
    for seed in range(3):
        rng = np.random.default_rng(9 + seed)
        modules = np.where(L.FUNCTION, _modules(_text(70 + seed)), rng.random((L.SIZE, L.SIZE)) < 0.5)
        frame, q = _screen_frame(modules)
        assert S.read_screen(frame, q) is None


def test_sharp_upright_screen_reads_and_a_blank_one_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _text(71)
    frame, q = _screen_frame(_modules(text))
    assert S.read_screen(frame, q) == text.encode()
    blank, q = _screen_frame(np.zeros((L.SIZE, L.SIZE), bool))
    monkeypatch.setattr(
        S, "deconvolved", lambda *a: pytest.fail("a screen without a code is not deconvolved")
    )
    assert S.read_screen(blank, q) is None


def test_a_code_on_a_larger_lit_page_is_found_by_its_texture() -> None:
    """The pass's page is lit around the code (not the 7 modules the grid's first guess assumes): the
    textured region gives the grid instead, at any rotation."""
    rng = np.random.default_rng(11)
    for _ in range(3):
        text = _text(int(rng.integers(1000)))
        page = np.pad(_modules(text), int(rng.integers(12, 25)))
        img = np.kron(np.where(page, 40.0, 210.0), np.ones((3, 3)))
        h, w = img.shape
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-40, 40)), 1.0)
        turn[:, 2] += (320 - w / 2, 240 - h / 2)
        frame = cv2.GaussianBlur(cv2.warpAffine(img, turn, (640, 480), borderValue=20), (0, 0), 1.1)
        frame = np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255).astype(np.uint8)
        q = find_screen(cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
        assert q is not None
        assert S.read_screen(frame, q) == text.encode()


def _mixture(seed: int) -> tuple[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    text = scheme_text(rng, KEY)
    return text, render_hard(text, draw_params(Hard.MIXTURE, rng), rng)


@pytest.mark.parametrize("seed", [11, 14])
def test_the_terminal_decoder_reads_what_no_cascade_pass_reads(seed: int) -> None:
    """make_decoder("zxing") is the cascade then the soft reader: on a mixture no zxing-cpp pass reads
    even without a budget (small modules, low contrast and tilt; blur, noise and tilt), the reader does."""
    text, frame = _mixture(seed)
    assert CascadeDecoder(budget_ms=None).decode_bytes(frame) == []
    d = make_decoder("zxing")
    assert isinstance(d, CascadeDecoder)
    assert d.decode_bytes(frame) == [text.encode()]
    assert d.stats.decoded == {"soft": 1}


def test_the_terminal_decoder_reads_clean_frames_with_the_cascade_and_never_a_wrong_text() -> None:
    d = terminal_decoder()
    text = _text(80)
    frame, _ = _screen_frame(_modules(text))
    assert d.decode_bytes(frame) == [text.encode()]
    assert "soft" not in d.stats.decoded  # a zxing-cpp pass read it first
    rng = np.random.default_rng(81)
    for _ in range(3):  # function patterns right, data noise: the soft reader runs and refuses
        noise = np.where(L.FUNCTION, _modules(_text(82)), rng.random((L.SIZE, L.SIZE)) < 0.5)
        assert d.decode_bytes(_screen_frame(noise)[0]) == []
    assert d.stats.tried["soft"] == 3


def test_decoded_blocks_do_not_make_the_others_decode_beyond_capacity() -> None:
    """Two blocks clean and two with 14 wrong codewords: the clean ones decode, are held, and the others
    still cannot (the symbol's margins carry no more than that), so nothing is handed back."""
    text = _text(90)
    truth = np.where(_modules(text), 1.0, -1.0)
    wrong = _flip_codewords(text, 14, 5)
    margin = truth.copy()
    for b in (0, 1):
        for i in range(L.BLOCK_DATA + L.BLOCK_EC):
            k = L.interleaved_index(b, i)
            rows, cols = L.BIT_ROWS[k * 8 : k * 8 + 8], L.BIT_COLS[k * 8 : k * 8 + 8]
            margin[rows, cols] = wrong[rows, cols]
    mask = S._mask(margin)
    blocks = S._decode_blocks(margin, mask, [None] * L.BLOCKS)
    assert [b is not None for b in blocks] == [False, False, True, True]
    free, held = S._held(blocks, mask)
    q = S.QUIET_SAMPLED
    assert (held[q:-q, q:-q][~free[q:-q, q:-q]] == (truth > 0)[~free[q:-q, q:-q]]).all()  # held = the truth
    assert S._accepted(S._decode_blocks(margin, mask, blocks)) is None


def test_the_miscorrection_chance_grows_with_the_errors_and_erasures_used() -> None:
    assert S._miscorrection(0, 0) == 256.0**-18
    assert S._miscorrection(4, 5) < 1e-15 < S._miscorrection(4, 7)  # the old rule's bound, and past it
    assert S._miscorrection(0, 9) < S._miscorrection(8, 5) < S._miscorrection(12, 3)


def test_one_random_block_among_clean_ones_is_never_accepted() -> None:
    """Three blocks decode; the fourth is noise with random confidences, so every erasure count is
    tried on it: it never comes back as a text, right or wrong."""
    text = _text(95)
    truth = np.where(_modules(text), 1.0, -1.0)
    rng = np.random.default_rng(96)
    for trial in range(40):
        margin = truth.copy()
        b = trial % L.BLOCKS
        rows, cols = S._BLOCK_ROWS[b], S._BLOCK_COLS[b]
        margin[rows, cols] = rng.normal(0, 1, len(rows))
        assert S.read_modules(margin) is None
