import itertools
import time
from collections.abc import Callable, Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from device.hw.indicator import PATTERNS, IndicatorState, LedBuzzerIndicator, Pattern

SCALE = 0.1  # the real patterns, ten times faster
# Timing on a busy machine only ever stretches a pulse, so durations are checked from below only.


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    f = MockFactory()
    yield f
    f.reset()


def pulses(states: list) -> list[float]:  # type: ignore[type-arg]
    """Durations of the on-periods recorded on a mock pin (timestamps are time since the previous change)."""
    out = []
    for prev, cur in itertools.pairwise(states):
        if prev.state and not cur.state:
            out.append(cur.timestamp)
    return out


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "pattern did not play"
        time.sleep(0.01)


def indicator(factory: MockFactory) -> LedBuzzerIndicator:
    ind = LedBuzzerIndicator(
        17, 27, pin_factory=factory, patterns={k: v.scaled(SCALE) for k, v in PATTERNS.items()}
    )
    factory.pin(17).clear_states()
    factory.pin(27).clear_states()
    return ind


def test_served_is_one_long_light_and_one_short_beep(factory: MockFactory) -> None:
    ind = indicator(factory)
    led, buzzer = factory.pin(17), factory.pin(27)
    ind.show(IndicatorState.SERVED)
    wait_for(lambda: ind.state is IndicatorState.IDLE and len(pulses(led.states)) >= 1)
    ind.close()
    assert len(pulses(buzzer.states)) == 1
    assert pulses(buzzer.states)[0] >= 0.1 * SCALE
    assert pulses(led.states)[0] >= 1.2 * SCALE


def test_refused_is_flicker_and_two_long_beeps(factory: MockFactory) -> None:
    ind = indicator(factory)
    led, buzzer = factory.pin(17), factory.pin(27)
    ind.show(IndicatorState.REFUSED)
    wait_for(lambda: ind.state is IndicatorState.IDLE)  # back to the standing state afterwards
    ind.close()
    beeps = pulses(buzzer.states)
    assert len(beeps) == 2 and all(b >= 0.4 * SCALE for b in beeps)
    assert len(pulses(led.states)) >= 6


def test_fault_beeps_three_times_and_keeps_blinking(factory: MockFactory) -> None:
    ind = indicator(factory)
    led, buzzer = factory.pin(17), factory.pin(27)
    ind.show(IndicatorState.FAULT)
    wait_for(lambda: len(pulses(buzzer.states)) >= 3 and len(pulses(led.states)) >= 20)
    assert ind.state is IndicatorState.FAULT  # a fault stays until cleared
    ind.close()
    assert len(pulses(buzzer.states)) == 3


def test_served_during_warning_returns_to_warning(factory: MockFactory) -> None:
    ind = indicator(factory)
    ind.show(IndicatorState.WARNING)
    ind.show(IndicatorState.SERVED)
    seen = [ind.state]
    wait_for(lambda: ind.state is not IndicatorState.SERVED)
    seen.append(ind.state)
    assert seen == [IndicatorState.SERVED, IndicatorState.WARNING]
    ind.close()


def test_warning_blinks_silently(factory: MockFactory) -> None:
    ind = indicator(factory)
    led, buzzer = factory.pin(17), factory.pin(27)
    ind.show(IndicatorState.WARNING)
    wait_for(lambda: len(pulses(led.states)) >= 3)
    ind.close()
    assert pulses(buzzer.states) == []
    assert all(p >= 0.5 * SCALE for p in pulses(led.states))


def test_every_state_has_a_distinct_pattern() -> None:
    assert set(PATTERNS) == set(IndicatorState)
    assert len(set(PATTERNS.values())) == len(PATTERNS)


def test_missing_pattern_is_refused(factory: MockFactory) -> None:
    with pytest.raises(ValueError, match="no pattern"):
        LedBuzzerIndicator(pin_factory=factory, patterns={IndicatorState.IDLE: Pattern(1, 1, None)})


class _EarlyTimer(Pattern):
    """A pattern whose timer would fire long before its light has finished: a busy CPU's late waits."""

    def duration(self) -> float:
        return 0.001


def test_a_transient_pattern_is_played_to_its_end_when_its_timer_comes_first(factory: MockFactory) -> None:
    served = PATTERNS[IndicatorState.SERVED].scaled(SCALE)
    early = _EarlyTimer(
        served.led_on, served.led_off, served.led_n, served.beep_on, served.beep_off, served.beep_n
    )
    ind = LedBuzzerIndicator(17, 27, pin_factory=factory, patterns={**PATTERNS, IndicatorState.SERVED: early})
    led = factory.pin(17)
    led.clear_states()
    ind.show(IndicatorState.SERVED)
    wait_for(lambda: ind.state is IndicatorState.IDLE)
    ind.close()
    assert pulses(led.states)[0] >= served.led_on  # the served light is not cut short
