"""LED and buzzer through gpiozero: one light and one sound pattern per terminal state.

gpiozero runs on the Pi 5 (through lgpio) where RPi.GPIO does not, and keeps RPi.GPIO usable as a pin
factory on older Pis; tests use its MockFactory. SERVED and REFUSED are short, one-off patterns after
which the indicator goes back to the standing state (IDLE, WARNING or FAULT) it was in.
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any


class IndicatorState(enum.StrEnum):
    SERVED = "served"
    REFUSED = "refused"
    WARNING = "warning"  # stale allowlist, clock unknown, disk almost full: serving goes on
    FAULT = "fault"  # cannot serve (camera and reader both down, journal not writable)
    IDLE = "idle"


TRANSIENT = frozenset({IndicatorState.SERVED, IndicatorState.REFUSED})


@dataclass(frozen=True, slots=True)
class Pattern:
    """on/off seconds and count (None = until the state changes) for the LED and the buzzer."""

    led_on: float
    led_off: float
    led_n: int | None
    beep_on: float = 0.0
    beep_off: float = 0.0
    beep_n: int = 0  # 0: silent

    def duration(self) -> float:
        led = 0.0 if self.led_n is None else self.led_n * (self.led_on + self.led_off)
        return max(led, self.beep_n * (self.beep_on + self.beep_off))

    def scaled(self, k: float) -> Pattern:
        return replace(
            self,
            led_on=self.led_on * k,
            led_off=self.led_off * k,
            beep_on=self.beep_on * k,
            beep_off=self.beep_off * k,
        )


# Told apart by ear as well as by eye: served is one short chirp with a steady light, refused two long
# low beeps with a fast flicker, a fault three long beeps once and then a fast blink until it is fixed.
PATTERNS: MappingProxyType[IndicatorState, Pattern] = MappingProxyType(
    {
        IndicatorState.SERVED: Pattern(1.2, 0.0, 1, beep_on=0.1, beep_off=0.0, beep_n=1),
        IndicatorState.REFUSED: Pattern(0.1, 0.1, 6, beep_on=0.4, beep_off=0.2, beep_n=2),
        IndicatorState.WARNING: Pattern(0.5, 1.5, None),
        IndicatorState.FAULT: Pattern(0.1, 0.1, None, beep_on=0.5, beep_off=0.5, beep_n=3),
        IndicatorState.IDLE: Pattern(0.05, 2.95, None),  # heartbeat: the terminal is alive
    }
)


class LedBuzzerIndicator:
    """`led_pin`/`buzzer_pin` are BCM numbers; `pin_factory` None means gpiozero's default (lgpio on a Pi 5)."""

    def __init__(
        self,
        led_pin: int = 17,
        buzzer_pin: int = 27,
        *,
        pin_factory: Any = None,
        patterns: MappingProxyType[IndicatorState, Pattern] | dict[IndicatorState, Pattern] = PATTERNS,
    ) -> None:
        from gpiozero import LED, Buzzer

        self._led = LED(led_pin, pin_factory=pin_factory)
        self._buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory)
        self._patterns = dict(patterns)
        missing = set(IndicatorState) - self._patterns.keys()
        if missing:
            raise ValueError(f"no pattern for {sorted(missing)}")
        self._lock = threading.Lock()
        self._standing = IndicatorState.IDLE
        self._timer: threading.Timer | None = None
        self._shown = 0
        self.state = IndicatorState.IDLE
        self._play(self._standing)

    def show(self, state: IndicatorState) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._shown += 1  # a timer of an earlier show that has already fired does nothing
            self.state = state
            if state not in TRANSIENT:
                self._standing = state
                self._play(state)
                return
            self._play(state)
            p = self._patterns[state]
            self._arm(p.duration(), self._shown, deadline=time.monotonic() + 2 * p.duration() + 1.0)

    def _arm(self, delay: float, shown: int, deadline: float) -> None:
        self._timer = threading.Timer(delay, self._back_to_standing, (shown, deadline))
        self._timer.daemon = True
        self._timer.start()

    def _back_to_standing(self, shown: int, deadline: float) -> None:
        with self._lock:
            if shown != self._shown:
                return
            # On a busy CPU the pattern's own waits run late: let it finish rather than cut its last
            # pulse, within a bound (a stuck thread must not hold the standing state back for good).
            if self._playing() and time.monotonic() < deadline:
                self._arm(0.01, shown, deadline)
                return
            self._timer = None
            self.state = self._standing
            self._play(self._standing)

    def _playing(self) -> bool:
        """Whether a blink of n times is still going: gpiozero ends its blink thread after the last one
        and offers no other signal for it."""
        return any(
            (t := getattr(d, "_blink_thread", None)) is not None and t.is_alive()
            for d in (self._led, self._buzzer)
        )

    def _play(self, state: IndicatorState) -> None:
        p = self._patterns[state]
        self._led.blink(on_time=p.led_on, off_time=p.led_off, n=p.led_n)
        if p.beep_n:
            self._buzzer.beep(on_time=p.beep_on, off_time=p.beep_off, n=p.beep_n)
        else:
            self._buzzer.off()

    def close(self) -> None:
        with self._lock:
            self._shown += 1  # a timer already firing finds nothing to do
            if self._timer is not None:
                self._timer.cancel()
            self._led.close()
            self._buzzer.close()
