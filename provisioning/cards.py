"""Card personalisation: write a signed card credential onto an NTAG card; bulk-register MIFARE cards.

Both use the back end's admin endpoints with the technician's admin bearer token:
`POST /api/admin/v1/cards/credential` {"pupil_ref", "uid": hex} → application/cose credential, and
`POST /api/admin/v1/cards/register` {"pupil_ref", "uid": hex}. The terminal-side reader is the same
Pn532Reader the terminal runs, so a card that passes here reads at the canteen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from device.hw import ndef
from device.hw.nfc import CardKind, NfcError, Pn532Reader, Tag
from shared_crypto import KeyLookup, VerificationError, verify_card_credential

from .errors import Problem, ProvisioningError
from .progress import Progress

ADMIN_API = "/api/admin/v1"


class AdminClient:
    def __init__(self, http: httpx.Client, token: str) -> None:
        self._http = http
        self._auth = {"Authorization": f"Bearer {token}"}

    def _post(self, path: str, body: dict[str, str]) -> httpx.Response:
        try:
            resp = self._http.post(ADMIN_API + path, json=body, headers=self._auth)
        except httpx.HTTPError as e:
            raise ProvisioningError(
                Problem.NETWORK, f"cannot reach the server ({e})", "check the network and --server"
            ) from e
        if resp.status_code in (401, 403):
            raise ProvisioningError(
                Problem.AUTH,
                "admin sign-in refused",
                "sign in again in the admin web app and copy a fresh token",
            )
        if resp.status_code >= 400:
            try:
                reason = str(resp.json().get("reason", ""))
            except ValueError:
                reason = ""
            fix = {
                "NO_SUCH_PUPIL": "check the pupil reference in the admin app",
                "CARD_ALREADY_REGISTERED": "this card belongs to someone already: use another card or unregister it",
            }.get(reason, "try again; if it persists, call the back-end on-call")
            raise ProvisioningError(
                Problem.CARD, f"server refused: HTTP {resp.status_code} {reason}".strip(), fix
            )
        return resp

    def credential(self, pupil_ref: str, uid: bytes) -> bytes:
        return self._post("/cards/credential", {"pupil_ref": pupil_ref, "uid": uid.hex()}).content

    def register(self, pupil_ref: str, uid: bytes) -> None:
        self._post("/cards/register", {"pupil_ref": pupil_ref, "uid": uid.hex()})


def wait_for_card(
    reader: Pn532Reader, timeout_s: float, monotonic: Callable[[], float] = time.monotonic
) -> Tag:
    deadline = monotonic() + timeout_s
    while monotonic() < deadline:
        try:
            tag = reader.detect()
        except NfcError as e:
            raise ProvisioningError(
                Problem.READER, f"reader error ({e})", "check the reader's wiring; run the self-test"
            ) from e
        if tag is not None:
            return tag
        time.sleep(0.05)
    raise ProvisioningError(Problem.CARD, "no card tapped", "hold the card flat on the reader and try again")


@dataclass(frozen=True, slots=True)
class Written:
    uid: bytes
    credential_bytes: int
    tag_bytes: int


def write_credential(
    reader: Pn532Reader,
    admin: AdminClient,
    pupil_ref: str,
    *,
    keys: KeyLookup | None = None,
    school_id: int | None = None,
    timeout_s: float = 20.0,
) -> Written:
    """Tap an NTAG card, get its credential from the back end, write it as NDEF and read it back."""
    tag = wait_for_card(reader, timeout_s)
    if tag.kind is not CardKind.NTAG:
        raise ProvisioningError(
            Problem.CARD,
            f"card {tag.uid.hex()} is {tag.kind.value}, not NTAG",
            "use an NTAG213/215/216 card, or register this card with `register-cards`",
        )
    credential = admin.credential(pupil_ref, tag.uid)
    if keys is not None:  # check it as the terminal will, before it goes on the card
        try:
            verify_card_credential(credential, keys, uid=tag.uid, now=None, leeway=0, school_id=school_id)
        except VerificationError as e:
            raise ProvisioningError(
                Problem.CARD,
                f"server's credential does not verify: {e}",
                "report to the admin; do not hand out the card",
            ) from e
    data = ndef.encode_tlv(ndef.encode_record(credential))
    try:
        reader.write_user_area(data)
        stored = ndef.card_credential(reader.read_user_area())
    except (NfcError, ndef.NdefError) as e:
        raise ProvisioningError(
            Problem.CARD,
            f"writing card {tag.uid.hex()} failed ({e})",
            "keep the card still on the reader until told to remove it, then retry",
        ) from e
    if stored != credential:
        raise ProvisioningError(
            Problem.CARD, "card reads back differently", "retry; if it repeats, use another card"
        )
    return Written(tag.uid, len(credential), len(data))


def register_cards(
    reader: Pn532Reader,
    admin: AdminClient,
    pick_pupil: Callable[[bytes], str | None],
    progress: Progress,
    *,
    timeout_s: float = 60.0,
) -> list[tuple[bytes, str]]:
    """Tap a card, name its pupil, repeat; an empty pupil reference (or no tap in `timeout_s`) ends it.

    A refused card (unknown pupil, already registered) is reported and skipped; the rest go on.
    """
    done: list[tuple[bytes, str]] = []
    last: bytes | None = None
    while True:
        progress.step(f"tap the next card ({len(done)} registered so far)")
        try:
            tag = wait_for_card(reader, timeout_s)
        except ProvisioningError as e:
            if e.problem is Problem.CARD:
                return done  # nobody tapped: the batch is over
            raise
        if tag.uid == last:
            progress.note("same card as before: take it away and tap the next one")
            time.sleep(0.5)
            continue
        last = tag.uid
        pupil = pick_pupil(tag.uid)
        if not pupil:
            return done
        try:
            admin.register(pupil, tag.uid)
        except ProvisioningError as e:
            if e.problem is not Problem.CARD:
                raise
            progress.note(f"card {tag.uid.hex()} skipped: {e.what}. {e.fix}")
            continue
        done.append((tag.uid, pupil))
        progress.note(f"card {tag.uid.hex()} → {pupil}")
