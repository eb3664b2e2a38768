"""Journal upload: pending records in signed batches (shared_crypto.sign_batch, the device key).

Each batch is signed once and re-sent as the same bytes on retry, so a response lost after the server
stored the batch costs nothing: the server recognises the event ids and counts them as duplicates.
Records are marked uploaded only after a 200. Transport errors, 408, 429 and 5xx are retried with
exponential back-off and full jitter (delay uniform in [0, min(cap, base·2^attempt)]); any other answer
stops the round, and the records wait for the next one.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from shared_crypto import MealBatch, MealEvent, SigningKey, sign_batch

from .journal import Journal

log = logging.getLogger(__name__)
MEAL_BATCHES = "/api/terminal/v1/meal-batches"
RETRYABLE_STATUS = frozenset({408, 429})
# The server refuses events it cannot store (backend/ingest/model.py, the same bounds): such a record is
# quarantined in the journal instead of blocking the queue behind it forever.
EVENT_OUT_OF_RANGE = "EVENT_OUT_OF_RANGE"
MAX_WALL_MS = 253_370_764_800_000  # 9999-01-01T00:00:00Z
INT64_MAX = 2**63 - 1


def out_of_range(e: MealEvent) -> bool:
    return e.wall_ms > MAX_WALL_MS or e.seq > INT64_MAX or e.mono_ms > INT64_MAX


@dataclass(frozen=True, slots=True)
class Backoff:
    attempts: int
    base_s: float
    cap_s: float

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: spreads a fleet's retries after an outage instead of synchronising them."""
        return rng.uniform(0.0, min(self.cap_s, self.base_s * 2**attempt))


class UploadError(Exception):
    """A batch could not be delivered this round; its records stay pending. `report`: what was done."""

    def __init__(self, detail: str, report: UploadReport | None = None, reason: str = "") -> None:
        super().__init__(detail)
        self.report = report
        self.reason = reason  # the server's reason code for a refused batch


@dataclass(slots=True)
class UploadReport:
    batches: int = 0
    events: int = 0
    accepted: int = 0
    duplicates: int = 0
    flagged: int = 0
    retries: int = 0
    quarantined: int = 0


class Uploader:
    def __init__(
        self,
        journal: Journal,
        key: SigningKey,
        terminal_id: int,
        *,
        batch_size: int,
        backoff: Backoff,
        now_s: Callable[[], int],
        sleep: Callable[[float], object] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._journal = journal
        self._key = key
        self._terminal_id = terminal_id
        self._batch_size = batch_size
        self._backoff = backoff
        self._now_s = now_s
        self._sleep = sleep  # may return early (Event.wait): the next attempt then comes sooner
        self._rng = rng or random.Random()

    def upload(self, client: httpx.Client, auth: httpx.Auth) -> UploadReport:
        """Send every pending record; raises UploadError (with what was done so far in `report`)."""
        report = UploadReport()
        while records := self._journal.pending(self._batch_size):
            batch = MealBatch(self._terminal_id, self._now_s(), tuple(records))
            body = sign_batch(self._key, batch)
            try:
                answer = self._post(client, auth, body, report)
            except UploadError as e:
                bad = [r.seq for r in records if out_of_range(r)] if e.reason == EVENT_OUT_OF_RANGE else []
                if bad:
                    log.warning("quarantined %d records the server cannot store: %s", len(bad), e)
                    self._journal.quarantine(bad)
                    report.quarantined += len(bad)
                    continue
                raise UploadError(str(e), report, e.reason) from e
            self._journal.mark_uploaded([r.seq for r in records])
            report.batches += 1
            report.events += len(records)
            report.accepted += _count(answer, "accepted")
            report.duplicates += _count(answer, "duplicates")
            report.flagged += _count(answer, "flagged")
        return report

    def _post(self, client: httpx.Client, auth: httpx.Auth, body: bytes, report: UploadReport) -> object:
        last = ""
        for attempt in range(self._backoff.attempts):
            if attempt:
                report.retries += 1
                self._sleep(self._backoff.delay(attempt - 1, self._rng))
            try:
                resp = client.post(
                    MEAL_BATCHES, content=body, headers={"Content-Type": "application/cose"}, auth=auth
                )
            except httpx.TransportError as e:
                last = f"{type(e).__name__}: {e}"
                log.info("upload attempt %d failed: %s", attempt + 1, last)
                continue
            if resp.status_code == 200:
                try:
                    return resp.json()
                except ValueError:
                    return {}  # delivered; the counts are only for the report
            last = f"HTTP {resp.status_code} {resp.text[:200]}"
            if resp.status_code not in RETRYABLE_STATUS and resp.status_code < 500:
                raise UploadError(f"batch refused: {last}", reason=_reason(resp))
        raise UploadError(f"gave up after {self._backoff.attempts} attempts: {last}")


def _count(answer: object, key: str) -> int:
    value = answer.get(key, 0) if isinstance(answer, dict) else 0
    return value if type(value) is int and value >= 0 else 0


def _reason(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    reason = body.get("reason") if isinstance(body, dict) else None
    return reason if isinstance(reason, str) else ""
