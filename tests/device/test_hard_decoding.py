"""The hard decoding set and the decoder cascade (bench/bench_decoders.py measures them in full)."""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest
from PIL import Image

from bench.hard_misses import write_misses
from device.hw.cascade import ORDER, PASSES, WHOLE_FRAME, CascadeDecoder, find_screen
from device.hw.decoders import DecoderName, DecoderUnavailable, ZxingDecoder, make_decoder
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
        got = cascade.decode_bytes(s.frame)
        assert got in ([], [s.payload])  # never a wrong payload
        read += got == [s.payload]
        read_single += single.decode_bytes(s.frame) == [s.payload]
    singles = [s for s in sample if s.kind is not Hard.MIXTURE]
    assert read >= 33  # 33 of 36 when written; the single pass read 28
    assert read_single <= 30
    assert sum(cascade.decode_bytes(s.frame) == [s.payload] for s in singles) == len(singles)
    assert set(cascade.stats.tried) == set(ORDER)  # the mixtures nothing reads went through every pass


def _reads(passes: list[str], s: HardSample) -> bool:
    return CascadeDecoder(passes=passes, budget_ms=None).decode_bytes(s.frame) == [s.payload]


BEFORE_SCREEN = list(ORDER[: ORDER.index("screen_sharpen")])  # the whole-frame passes tried first


def test_a_small_code_only_the_rectified_screen_reads(sample: list[HardSample]) -> None:
    s = sample[3]
    assert s.kind is Hard.SMALL and set(BEFORE_SCREEN) <= WHOLE_FRAME
    assert not _reads(BEFORE_SCREEN, s)
    assert _reads([*BEFORE_SCREEN, "screen_sharpen"], s)


def test_a_mixture_only_the_deblurred_screen_reads(sample: list[HardSample]) -> None:
    s = sample[34]
    assert s.kind is Hard.MIXTURE and Hard.BLUR in s.params.applied
    others = [p for p in ORDER if not p.startswith("deblur_")]
    assert not _reads(others, s)
    assert _reads([*others, "deblur_1.4_0.1"], s)


def test_the_screen_is_found_with_its_corners_clockwise(sample: list[HardSample]) -> None:
    for s in sample[:12]:
        q = find_screen(s.frame[::2, ::2].copy())
        assert q is not None
        edges = np.roll(q, -1, axis=0) - q
        turns = (
            edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
        )
        assert (turns > 0).all()  # clockwise as seen (y down): the rectified code is not mirrored
    glint = np.full((240, 320), 40, np.uint8)
    glint[100:110, 150:160] = 220
    assert find_screen(glint) is None  # a bright spot too small to hold a readable code


class _Clock:
    """Advances 5 ms each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.005
        return self.now


def test_the_budget_is_honoured_with_an_injected_clock() -> None:
    blank = np.full((480, 640), 120, np.uint8)
    cheap = CascadeDecoder(budget_ms=12.0, clock=_Clock())
    assert cheap.decode_bytes(blank) == []
    # read at the start (5 ms), then before each pass: 10 ms runs the first, 15 ms runs the second, 20 stops
    assert cheap.stats.tried == {ORDER[0]: 1, ORDER[1]: 1}
    none = CascadeDecoder(budget_ms=0.0)
    assert none.decode_bytes(blank) == [] and none.stats.tried == {}
    full = CascadeDecoder(budget_ms=None, clock=_Clock())
    assert full.decode_bytes(blank) == []
    assert set(full.stats.tried) == set(ORDER)


def test_a_subset_of_passes_and_unknown_names() -> None:
    assert CascadeDecoder(passes=["plain", "screen"]).passes == ("plain", "screen")
    assert set(ORDER) <= set(PASSES)
    for name in PASSES:
        CascadeDecoder(passes=[name])  # every listed pass exists
    with pytest.raises(ValueError, match="sharpest"):
        CascadeDecoder(passes=["plain", "sharpest"])


def test_zxing_is_the_cascade_and_the_single_pass_stays_selectable() -> None:
    assert isinstance(make_decoder("zxing"), CascadeDecoder)
    assert make_decoder("zxing-single").name is DecoderName.ZXING_SINGLE


def test_a_stream_sequence_is_a_second_of_a_phone_coming_to_rest() -> None:
    seq = next(generate_sequences(1, seed=3))
    assert len(seq.frames) == FPS and seq.payload.startswith(b"SW1:")
    assert seq.blur_px[0] > 10 > seq.blur_px[-1]  # blurred while it comes in, nearly still at the end
    assert CascadeDecoder().decode_bytes(seq.frames[-1]) == [seq.payload]


def test_without_opencv_the_default_decoder_is_named_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # an import of cv2 now fails as if not installed
    monkeypatch.delitem(sys.modules, "device.hw.cascade")
    with pytest.raises(DecoderUnavailable, match="cv2 is not installed"):
        make_decoder("zxing")
    assert make_decoder("zxing-single").name is DecoderName.ZXING_SINGLE


def test_the_missed_frames_are_written_with_their_parameters(
    sample: list[HardSample], tmp_path: pathlib.Path
) -> None:
    picked = [sample[3], sample[31], sample[34]]  # read, read by no pass, read
    misses = write_misses(tmp_path, picked)
    assert [m["file"] for m in misses] == ["001_mixture.png"]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "001_mixture.png")), sample[31].frame)
    listed = json.loads((tmp_path / "misses.json").read_text())
    assert listed == misses
    assert listed[0]["applied"] == [a.value for a in sample[31].params.applied]
    assert listed[0]["noise_sigma"] == sample[31].params.noise_sigma
