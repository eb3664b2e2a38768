import numpy as np
import pytest

from device.hw.decoders import DecoderName, ZbarDecoder, ZxingDecoder, as_text, make_decoder
from device.hw.testimages import Distortion, generate, render, sample_payloads

DECODERS = [ZxingDecoder, ZbarDecoder]
BINARY = bytes(range(256))[::2] + b"\x00\xff\x80\xc3\xa9"  # every high byte a text codec would mangle


@pytest.fixture(params=DECODERS, ids=lambda c: c.name.value)
def decoder(request: pytest.FixtureRequest) -> ZxingDecoder | ZbarDecoder:
    d: ZxingDecoder | ZbarDecoder = request.param()
    return d


def test_binary_payload_comes_back_byte_for_byte(decoder: ZxingDecoder | ZbarDecoder) -> None:
    frame = render(BINARY, Distortion.CLEAN, np.random.default_rng(1))
    assert decoder.decode_bytes(frame) == [BINARY]


def test_base45_payload_comes_back_exactly(decoder: ZxingDecoder | ZbarDecoder) -> None:
    text, _ = sample_payloads(np.random.default_rng(2))
    assert text.startswith("SW1:")
    frame = render(text, Distortion.CLEAN, np.random.default_rng(3))
    assert decoder.decode_bytes(frame) == [text.encode("ascii")]


def test_empty_frame_gives_nothing(decoder: ZxingDecoder | ZbarDecoder) -> None:
    assert decoder.decode_bytes(np.full((480, 640), 128, np.uint8)) == []


def test_non_contiguous_frame_is_accepted(decoder: ZxingDecoder | ZbarDecoder) -> None:
    text, _ = sample_payloads(np.random.default_rng(4))
    frame = render(text, Distortion.CLEAN, np.random.default_rng(5))
    padded = np.zeros((480, 704), np.uint8)  # like a camera buffer with a wider stride
    padded[:, :640] = frame
    assert decoder.decode_bytes(padded[:, :640]) == [text.encode("ascii")]


@pytest.mark.parametrize("bad", [np.zeros((48, 64), np.float32), np.zeros((48, 64, 3), np.uint8)])
def test_wrong_frame_type_is_refused(decoder: ZxingDecoder | ZbarDecoder, bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="grayscale"):
        decoder.decode_bytes(bad)


def test_default_decoder_is_zxing_and_runner_up_selectable() -> None:
    assert make_decoder().name is DecoderName.ZXING
    assert make_decoder("zbar").name is DecoderName.ZBAR
    with pytest.raises(ValueError):
        make_decoder("opencv")


def test_zxing_reads_most_distorted_frames() -> None:
    """A small slice of the bench set: the chosen decoder must cope with every kind of distortion."""
    d = ZxingDecoder()
    samples = list(generate(4, seed=7))
    decoded = {s.distortion: 0 for s in samples}
    for s in samples:
        decoded[s.distortion] += d.decode_bytes(s.frame) == [s.payload]
    assert all(n >= 3 for n in decoded.values()), decoded


def test_generator_is_reproducible() -> None:
    a = [s.frame for s in generate(1, seed=11)]
    b = [s.frame for s in generate(1, seed=11)]
    assert len(a) == len(Distortion)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(f.shape == (480, 640) and f.dtype == np.uint8 for f in a)


def test_text_form_is_lossless_for_binary_and_exact_for_scheme_text(
    decoder: ZxingDecoder | ZbarDecoder,
) -> None:
    frame = render(BINARY, Distortion.CLEAN, np.random.default_rng(1))
    (text,) = map(as_text, decoder.decode_bytes(frame))
    assert text.encode("utf-8", "surrogateescape") == BINARY
    scheme, _ = sample_payloads(np.random.default_rng(2))
    glare = render(scheme, Distortion.GLARE, np.random.default_rng(8))
    assert [as_text(p) for p in decoder.decode_bytes(glare)] == [scheme]
