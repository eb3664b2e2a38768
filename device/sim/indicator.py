"""An indicator that prints each state change instead of lighting an LED."""

from __future__ import annotations

from collections.abc import Callable

from ..interfaces import IndicatorState

TRANSIENT = frozenset({IndicatorState.SERVED, IndicatorState.REFUSED})


class PrintingIndicator:
    """Implements device.interfaces.Indicator. Transient states (served, refused) are printed and then
    count as over at once: `state` goes back to the standing state, as the LED does after its pattern."""

    def __init__(self, out: Callable[[str], None] = print) -> None:
        self._out = out
        self.standing = IndicatorState.IDLE
        self.state = IndicatorState.IDLE
        self.history: list[IndicatorState] = []

    def show(self, state: IndicatorState) -> None:
        self.history.append(state)
        self._out(f"[indicator] {state.value.upper()}")
        if state not in TRANSIENT:
            self.standing = state
        self.state = self.standing
