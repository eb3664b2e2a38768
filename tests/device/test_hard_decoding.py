"""The hard decoding set and the decoder cascade (bench/bench_decoders.py measures them in full)."""

from __future__ import annotations

import numpy as np
import pytest

from device.hw.cascade import CascadeDecoder
from device.hw.decoders import DecoderName, ZxingDecoder, make_decoder
from device.hw.hard_frames import FPS, Hard, HardSample, generate_hard, generate_sequences

SAMPLE_SEED = 7


@pytest.fixture(scope="module")
def sample() -> list[HardSample]:
    return list(generate_hard(6, seed=SAMPLE_SEED))


def test_the_hard_set_is_reproducible_and_drawn_from_its_ranges(sample: list[HardSample]) -> None:
    again = list(generate_hard(6, seed=SAMPLE_SEED))
    assert all(
        np.array_equal(a.frame, b.frame) and a.payload == b.payload
        for a, b in zip(sample, again, strict=True)
    )
    for s in sample:
        p = s.params
        assert s.frame.shape == (480, 640) and s.frame.dtype == np.uint8
        assert s.payload.startswith(b"SW1:")
        if Hard.SMALL in p.applied:
            assert 1.6 <= p.module_px <= 2.6
        if s.kind is Hard.BLUR:
            assert 1.2 <= p.blur_sigma <= 2.2
        if Hard.LOW_CONTRAST in p.applied:
            assert 25 <= p.light - p.dark <= 60 and 0.20 <= p.gradient <= 0.45
        if Hard.NOISE in p.applied:
            assert 12 <= p.noise_sigma <= 25
        if Hard.PERSPECTIVE in p.applied:
            assert 0.24 <= p.tilt <= 0.32
        if s.kind is Hard.MIXTURE:
            assert 2 <= len(p.applied) <= 3
    assert {s.kind for s in sample} == set(Hard)


def test_the_cascade_reads_a_sample_of_the_hard_set_above_a_floor(sample: list[HardSample]) -> None:
    cascade = CascadeDecoder(budget_ms=None)  # no time budget: the same passes on any machine
    single = ZxingDecoder()
    read = read_single = 0
    for s in sample:
        cascade.reset()
        got = cascade.decode_bytes(s.frame)
        assert got in ([], [s.payload])  # never a wrong payload
        read += got == [s.payload]
        read_single += single.decode_bytes(s.frame) == [s.payload]
    singles = [s for s in sample if s.kind is not Hard.MIXTURE]
    assert read >= 0.85 * len(sample)  # 31 of 36 when written; the single pass read 28
    assert read > read_single
    assert cascade.stats.decoded.get("local", 0) == read_single  # the first pass is the single pass
    assert sum(cascade.decode_bytes(s.frame) == [s.payload] for s in singles) == len(singles)


def test_the_budget_skips_the_dear_passes() -> None:
    blank = np.full((480, 640), 120, np.uint8)
    cheap = CascadeDecoder(budget_ms=0.0)
    assert cheap.decode_bytes(blank) == []
    assert cheap.stats.tried == {"local": 1}
    full = CascadeDecoder(budget_ms=None)
    assert full.decode_bytes(blank) == []
    assert set(full.stats.tried) == {"local", "histogram", "half", "box", "up2"}  # no symbol seen: no roi


def test_zxing_is_the_cascade_and_the_single_pass_stays_selectable() -> None:
    assert isinstance(make_decoder("zxing"), CascadeDecoder)
    assert make_decoder("zxing-single").name is DecoderName.ZXING_SINGLE


def test_a_stream_sequence_is_a_second_of_a_phone_coming_to_rest() -> None:
    seq = next(generate_sequences(1, seed=3))
    assert len(seq.frames) == FPS and seq.payload.startswith(b"SW1:")
    assert seq.blur_px[0] > 10 > seq.blur_px[-1]  # blurred while it comes in, nearly still at the end
    assert CascadeDecoder().decode_bytes(seq.frames[-1]) == [seq.payload]
