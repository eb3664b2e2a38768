"""Card personalisation: write a signed card credential onto an NTAG card; bulk-register MIFARE cards.

Both use the back end's admin card endpoints (docs/terminal-api.md) with the technician's admin bearer
token, naming the pupil by the pseudonym picked from the allowlist (provisioning/roster.py). The reader is
the same Pn532Reader the terminal runs, so a card that passes here reads at the canteen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from device.hw import ndef
from device.hw.nfc import CardKind, NfcError, Pn532Reader, Tag
from shared_crypto import KeyLookup, Reason, VerificationError, uid_hash, verify_card_credential

from .errors import Problem, ProvisioningError
from .progress import Progress
from .roster import Pupil

ADMIN_API = "/api/admin/v1"


class AdminClient:
    def __init__(self, http: httpx.Client, token: str) -> None:
        self._http = http
        self._auth = {"Authorization": f"Bearer {token}"}

    def _post(self, path: str, pupil: Pupil, uid: bytes) -> httpx.Response:
        body = {"pseudonym": pupil.pseudonym.hex(), "uid": uid.hex()}
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
                "NO_SUCH_PUPIL": "the allowlist is older than the back end's records: pick the pupil again",
                "CARD_ALREADY_REGISTERED": "this card belongs to someone already: use another card or unregister it",
            }.get(reason, "try again; if it persists, call the back-end on-call")
            raise ProvisioningError(
                Problem.CARD, f"server refused: HTTP {resp.status_code} {reason}".strip(), fix
            )
        return resp

    def credential(self, pupil: Pupil, uid: bytes) -> bytes:
        return self._post("/cards/credential", pupil, uid).content

    def register(self, pupil: Pupil, uid: bytes) -> None:
        resp = self._post("/cards/register", pupil, uid)
        try:
            answered = bytes.fromhex(resp.json()["uid_hash"])
        except (ValueError, KeyError, TypeError) as e:
            raise ProvisioningError(
                Problem.BAD_RESPONSE, f"registration answer not understood ({e})", "check --server"
            ) from e
        if answered != uid_hash(uid):  # the back end stored a different card than the one tapped
            raise ProvisioningError(
                Problem.BAD_RESPONSE,
                f"server registered UID hash {answered.hex()}, not this card's",
                "report it to the back-end on-call; do not hand out the card",
            )


def wait_for_card(
    reader: Pn532Reader,
    timeout_s: float,
    *,
    skip: bytes | None = None,
    on_skip: Callable[[], None] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> Tag:
    """The next card in the field within `timeout_s`. The card `skip` (the one just handled) does not
    count while it stays on the reader (`on_skip` is told once); taken away and tapped again, it does."""
    deadline = monotonic() + timeout_s
    told = False
    while monotonic() < deadline:
        try:
            tag = reader.detect()
        except NfcError as e:
            raise ProvisioningError(
                Problem.READER, f"reader error ({e})", "check the reader's wiring; run the self-test"
            ) from e
        if tag is None:
            skip = None  # the field emptied: the same card tapped again is a new tap
        elif tag.uid != skip:
            return tag
        elif not told and on_skip is not None:
            on_skip()
            told = True
        time.sleep(0.05)
    raise ProvisioningError(
        Problem.NO_CARD, "no card tapped", "hold the card flat on the reader and try again"
    )


@dataclass(frozen=True, slots=True)
class Written:
    uid: bytes
    credential_bytes: int
    tag_bytes: int


def write_credential(
    reader: Pn532Reader,
    admin: AdminClient,
    pupil: Pupil,
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
    credential = admin.credential(pupil, tag.uid)
    if keys is not None:  # check it as the terminal will, before it goes on the card
        try:
            cred = verify_card_credential(
                credential, keys, uid=tag.uid, now=None, leeway=0, school_id=school_id
            )
            if cred.pseudonym != pupil.pseudonym:
                raise VerificationError(Reason.CARD_MISMATCH, "credential names another pupil")
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
    pick_pupil: Callable[[bytes], Pupil | None],
    progress: Progress,
    *,
    timeout_s: float = 60.0,
) -> list[tuple[bytes, Pupil]]:
    """Tap a card, pick its pupil, repeat; no pick (or no tap in `timeout_s`) ends it.

    A refused card (unknown pupil, already registered) is reported and skipped; the rest go on.
    """
    done: list[tuple[bytes, Pupil]] = []
    last: bytes | None = None
    while True:
        progress.step(f"tap the next card ({len(done)} registered so far)")
        try:
            tag = wait_for_card(
                reader,
                timeout_s,
                skip=last,
                on_skip=lambda: progress.note("same card as before: take it away and tap the next one"),
            )
        except ProvisioningError as e:
            if e.problem is Problem.NO_CARD:
                return done  # nobody tapped: the batch is over
            raise
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
        progress.note(f"card {tag.uid.hex()} → {pupil.label()}")
