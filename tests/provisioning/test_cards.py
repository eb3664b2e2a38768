import io

import httpx
import pytest
from adafruit_pn532.uart import PN532_UART

from device.hw import ndef
from device.hw.fake_pn532 import FakeMifareClassic, FakeNtag, FakePn532Serial
from device.hw.nfc import CardRead, Pn532Reader
from provisioning.cards import AdminClient, register_cards, write_credential
from provisioning.errors import Problem, ProvisioningError
from provisioning.progress import Progress
from provisioning.roster import Pupil
from shared_crypto import TrustStore, uid_hash, verify_card_credential, verify_trust_list

from .fake_backend import ADMIN_TOKEN, ENTRIES, SCHOOL, UNKNOWN_PSEUDONYM, FakeBackend

UID = bytes.fromhex("04a1b2c3d4e5f6")
ANNA, ASEL, YERLAN = (Pupil(e.voucher_id, e.pseudonym, e.display) for e in ENTRIES)
GONE = Pupil(999, UNKNOWN_PSEUDONYM, "Ж. З., 9В")


class SwappingPort(FakePn532Serial):
    """Each InListPassiveTarget takes the next card from a queue (None = empty field)."""

    def __init__(self, cards: list) -> None:  # type: ignore[type-arg]
        super().__init__()
        self.queue = list(cards)

    def _answer(self, command: int, params: bytes) -> bytes | None:
        if command == 0x4A and self.queue:
            self.card = self.queue.pop(0)
        return super()._answer(command, params)


def reader_for(port: FakePn532Serial) -> Pn532Reader:
    return Pn532Reader(lambda: PN532_UART(port), poll_timeout_s=0.02, io_timeout_s=0.02)


def trust(backend: FakeBackend) -> TrustStore:
    return TrustStore(verify_trust_list(backend.trust_list, backend.root.public, now=None, leeway=0).keys)


def test_credential_written_reads_back_and_verifies_as_the_terminal_will() -> None:
    backend = FakeBackend()
    port = FakePn532Serial()
    port.card = FakeNtag(UID)
    reader = reader_for(port)
    w = write_credential(
        reader, AdminClient(backend.client(), ADMIN_TOKEN), ANNA, keys=trust(backend), school_id=SCHOOL
    )
    assert w.uid == UID and w.credential_bytes < 150 and w.tag_bytes <= 504
    stored = ndef.card_credential(port.card.user_bytes())
    cred = verify_card_credential(
        stored, trust(backend), uid=UID, now=backend.now, leeway=60, school_id=SCHOOL
    )
    assert cred.pseudonym == ANNA.pseudonym
    assert reader.poll() == CardRead(UID, stored)  # the terminal's own read path sees it


def test_mifare_card_cannot_take_a_credential() -> None:
    port = FakePn532Serial()
    port.card = FakeMifareClassic(b"\x01\x02\x03\x04")
    with pytest.raises(ProvisioningError) as e:
        write_credential(reader_for(port), AdminClient(FakeBackend().client(), ADMIN_TOKEN), ANNA)
    assert e.value.problem is Problem.CARD and "register-cards" in e.value.fix


def test_card_pulled_away_mid_write_is_reported() -> None:
    port = FakePn532Serial()
    port.card = FakeNtag(UID, write_fails_at=10)
    with pytest.raises(ProvisioningError) as e:
        write_credential(reader_for(port), AdminClient(FakeBackend().client(), ADMIN_TOKEN), ASEL)
    assert e.value.problem is Problem.CARD and "keep the card still" in e.value.fix


def test_credential_for_another_card_is_refused_before_writing() -> None:
    backend = FakeBackend()
    port = FakePn532Serial()
    port.card = FakeNtag(UID)

    class OtherCard(AdminClient):
        def credential(self, pupil: Pupil, uid: bytes) -> bytes:
            return super().credential(pupil, bytes.fromhex("04000000000000"))

    class OtherPupil(AdminClient):
        def credential(self, pupil: Pupil, uid: bytes) -> bytes:
            return super().credential(ASEL, uid)

    for liar in (OtherCard, OtherPupil):
        with pytest.raises(ProvisioningError) as e:
            write_credential(reader_for(port), liar(backend.client(), ADMIN_TOKEN), ANNA, keys=trust(backend))
        assert "CARD_MISMATCH" in e.value.what
        assert port.card.user_bytes()[:3] == b"\x03\x00\xfe"  # untouched


def test_bad_admin_token_and_unknown_pupil_name_the_fix() -> None:
    port = FakePn532Serial()
    port.card = FakeNtag(UID)
    with pytest.raises(ProvisioningError) as e:
        write_credential(reader_for(port), AdminClient(FakeBackend().client(), "expired"), ANNA)
    assert e.value.problem is Problem.AUTH and "sign in again" in e.value.fix
    with pytest.raises(ProvisioningError) as e:
        write_credential(reader_for(port), AdminClient(FakeBackend().client(), ADMIN_TOKEN), GONE)
    assert "NO_SUCH_PUPIL" in e.value.what and "pick the pupil again" in e.value.fix


def test_no_tap_times_out_with_advice() -> None:
    with pytest.raises(ProvisioningError) as e:
        write_credential(
            reader_for(FakePn532Serial()),
            AdminClient(FakeBackend().client(), ADMIN_TOKEN),
            ANNA,
            timeout_s=0.1,
        )
    assert e.value.problem is Problem.NO_CARD and "hold the card" in e.value.fix


def test_bulk_registration_taps_and_names_pupils() -> None:
    backend = FakeBackend()
    a, b, c = (FakeMifareClassic(bytes([i, 2, 3, 4])) for i in (1, 2, 3))
    port = SwappingPort([a, a, b, c, None])
    picks = iter([ANNA, YERLAN, GONE])
    out = io.StringIO()
    done = register_cards(
        reader_for(port),
        AdminClient(backend.client(), ADMIN_TOKEN),
        lambda uid: next(picks, None),
        Progress(0, out),
        timeout_s=0.3,
    )
    assert done == [(a.uid, ANNA), (b.uid, YERLAN)]
    assert backend.registered == [(ANNA.pseudonym, a.uid), (YERLAN.pseudonym, b.uid)]
    text = out.getvalue()
    assert "same card as before" in text and "skipped" in text and "NO_SUCH_PUPIL" in text


def test_network_down_during_registration_stops_with_fix() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down", request=request)

    port = FakePn532Serial()
    port.card = FakeMifareClassic(b"\x09\x09\x09\x09")
    http = httpx.Client(base_url="https://x", transport=httpx.MockTransport(down))
    with pytest.raises(ProvisioningError) as e:
        register_cards(
            reader_for(port), AdminClient(http, ADMIN_TOKEN), lambda uid: ANNA, Progress(0, io.StringIO())
        )
    assert e.value.problem is Problem.NETWORK


def test_registration_answer_for_another_card_is_caught() -> None:
    backend = FakeBackend()

    def wrong_hash(request: httpx.Request) -> httpx.Response:
        backend.handle(request)
        return httpx.Response(200, json={"uid_hash": uid_hash(b"\x00\x00\x00\x00").hex()})

    port = FakePn532Serial()
    port.card = FakeMifareClassic(b"\x05\x06\x07\x08")
    http = httpx.Client(base_url="https://x", transport=httpx.MockTransport(wrong_hash))
    with pytest.raises(ProvisioningError) as e:
        register_cards(
            reader_for(port), AdminClient(http, ADMIN_TOKEN), lambda uid: ANNA, Progress(0, io.StringIO())
        )
    assert e.value.problem is Problem.BAD_RESPONSE and "do not hand out" in e.value.fix


def test_card_taken_away_and_tapped_again_counts_as_a_new_tap() -> None:
    # first pick names a pupil the back end no longer has: skipped; the technician retries the same card
    backend = FakeBackend()
    a = FakeMifareClassic(b"\x0a\x02\x03\x04")
    port = SwappingPort([a, a, None, a, None])
    picks = iter([GONE, ANNA])
    done = register_cards(
        reader_for(port),
        AdminClient(backend.client(), ADMIN_TOKEN),
        lambda uid: next(picks, None),
        Progress(0, io.StringIO()),
        timeout_s=0.3,
    )
    assert done == [(a.uid, ANNA)]
