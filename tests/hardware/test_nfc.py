from types import SimpleNamespace
from typing import Any

import pytest
from adafruit_pn532.uart import PN532_UART

from device.hw import ndef
from device.hw.fake_pn532 import ACK, FakeMifareClassic, FakeNtag, FakePn532Serial
from device.hw.nfc import CardKind, CardRead, NfcError, NfcFault, Pn532Reader, ReaderFault

NTAG_UID = bytes.fromhex("04a1b2c3d4e5f6")
CLASSIC_UID = bytes.fromhex("deadbeef")
CREDENTIAL = bytes(range(140))  # the size of a real card credential


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make_reader(
    port: FakePn532Serial, clock: Clock, faults: list[tuple[NfcFault, str]] | None = None
) -> Pn532Reader:
    return Pn532Reader(
        lambda: PN532_UART(port),
        poll_timeout_s=0.02,
        io_timeout_s=0.02,
        monotonic=clock,
        on_fault=(lambda f, d: faults.append((f, d))) if faults is not None else None,
    )


def ntag_with_credential() -> FakeNtag:
    tag = FakeNtag(NTAG_UID)
    data = ndef.encode_tlv(ndef.encode_record(CREDENTIAL))
    padded = data + b"\x00" * (-len(data) % 4)
    for i in range(0, len(padded), 4):
        tag.pages[4 + i // 4][:] = padded[i : i + 4]
    return tag


@pytest.fixture
def port() -> FakePn532Serial:
    return FakePn532Serial()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_fake_port_checks_frames_like_the_chip(port: FakePn532Serial) -> None:
    port.write(b"\x55\x55" + b"\x00" * 15)
    port.write(b"\x00\x00\xff\x02\xfe\xd4\x02\x2a\x00")  # GetFirmwareVersion, valid checksums
    assert port.read(6) == ACK
    frame = port.read(64)
    assert frame[:3] == b"\x00\x00\xff" and (frame[3] + frame[4]) & 0xFF == 0
    assert sum(frame[5 : 5 + frame[3] + 1]) & 0xFF == 0  # data checksum
    port.write(b"\x00\x00\xff\x02\xfe\xd4\x02\x2b\x00")  # data checksum off by one
    port.write(b"\x00\x00\xff\x02\xff\xd4\x02\x2a\x00")  # length checksum wrong
    assert port.in_waiting == 0 and port.bad_frames == 2


def test_firmware_version_through_the_real_library(port: FakePn532Serial, clock: Clock) -> None:
    assert make_reader(port, clock).firmware() == (0x32, 1, 6, 7)
    assert 0x32 in port.commands  # retries limited so an empty field answers instead of hanging


def test_no_card_is_none(port: FakePn532Serial, clock: Clock) -> None:
    reader = make_reader(port, clock)
    assert reader.poll() is None
    assert reader.fault is None


def test_ntag_tap_reads_uid_and_credential_once(port: FakePn532Serial, clock: Clock) -> None:
    reader = make_reader(port, clock)
    port.card = ntag_with_credential()
    assert reader.poll() == CardRead(NTAG_UID, CREDENTIAL)
    for _ in range(5):  # card held on the reader: one tap, one read
        clock.t += 0.2
        assert reader.poll() is None


def test_same_card_reads_again_after_it_was_taken_away(port: FakePn532Serial, clock: Clock) -> None:
    reader = make_reader(port, clock)
    port.card = ntag_with_credential()
    assert reader.poll() is not None
    port.card = None
    clock.t += 0.2
    assert reader.poll() is None
    port.card = ntag_with_credential()
    clock.t += 0.1  # back within the release time: still the same tap (a wobble)
    assert reader.poll() is None
    port.card = None
    clock.t += 0.1
    assert reader.poll() is None
    clock.t += 1.0
    assert reader.poll() is None
    port.card = ntag_with_credential()
    clock.t += 0.1
    assert reader.poll() == CardRead(NTAG_UID, CREDENTIAL)


def test_another_card_is_read_at_once(port: FakePn532Serial, clock: Clock) -> None:
    reader = make_reader(port, clock)
    port.card = ntag_with_credential()
    assert reader.poll() is not None
    port.card = FakeMifareClassic(CLASSIC_UID)
    clock.t += 0.05
    assert reader.poll() == CardRead(CLASSIC_UID, None)


def test_mifare_classic_gives_uid_only(port: FakePn532Serial, clock: Clock) -> None:
    reader = make_reader(port, clock)
    port.card = FakeMifareClassic(CLASSIC_UID)
    tag = reader.detect()
    assert tag is not None and tag.kind is CardKind.MIFARE_CLASSIC and tag.uid == CLASSIC_UID
    assert reader.poll() == CardRead(CLASSIC_UID, None)
    assert 0x40 not in port.commands  # no page reads attempted on a Classic card


def test_blank_ntag_gives_uid_without_credential(port: FakePn532Serial, clock: Clock) -> None:
    reader = make_reader(port, clock)
    port.card = FakeNtag(NTAG_UID)
    assert reader.poll() == CardRead(NTAG_UID, None)


def test_only_the_needed_pages_are_read(port: FakePn532Serial, clock: Clock) -> None:
    reader = make_reader(port, clock)
    port.card = ntag_with_credential()
    reader.poll()
    reads = port.commands.count(0x40)
    tlv_len = len(ndef.encode_tlv(ndef.encode_record(CREDENTIAL)))
    assert reads == 1 + -(-tlv_len // 16)  # capability container + 16-byte reads to cover the TLV


def test_unplugged_reader_faults_once_resets_and_says_so(port: FakePn532Serial, clock: Clock) -> None:
    faults: list[tuple[NfcFault, str]] = []
    reader = make_reader(port, clock, faults)
    assert reader.poll() is None
    port.unplugged = True
    for _ in range(3):
        assert reader.poll() is None
        clock.t += 2.5
    assert reader.fault in (NfcFault.NO_ANSWER, NfcFault.NO_FIRMWARE)
    assert len(faults) == 1  # reported once, not on every retry
    port.unplugged = False
    wakeups = port.wakeups
    port.card = ntag_with_credential()
    assert reader.poll() == CardRead(NTAG_UID, CREDENTIAL)
    assert reader.fault is None and reader.resets == 1
    assert port.wakeups > wakeups  # the chip was woken and configured afresh


def test_corrupted_answer_is_a_protocol_fault_then_recovers(port: FakePn532Serial, clock: Clock) -> None:
    faults: list[tuple[NfcFault, str]] = []
    reader = make_reader(port, clock, faults)
    reader.firmware()
    port.card = FakeMifareClassic(CLASSIC_UID)
    port.corrupt_next = 1
    assert reader.poll() is None
    assert faults[0][0] is NfcFault.PROTOCOL
    clock.t += 0.5
    assert reader.poll() is None  # waits retry_s before resetting
    clock.t += 2.0
    assert reader.poll() == CardRead(CLASSIC_UID, None)
    assert reader.resets == 1


def test_hung_chip_is_detected(port: FakePn532Serial, clock: Clock) -> None:
    faults: list[tuple[NfcFault, str]] = []
    reader = make_reader(port, clock, faults)
    reader.firmware()
    port.silent = True
    assert reader.poll() is None
    assert faults == [(NfcFault.NO_ANSWER, "InListPassiveTarget not answered")]


def test_write_then_read_back_credential(port: FakePn532Serial, clock: Clock) -> None:
    reader = make_reader(port, clock)
    port.card = FakeNtag(NTAG_UID)
    reader.write_user_area(ndef.encode_tlv(ndef.encode_record(CREDENTIAL)))
    assert ndef.card_credential(port.card.user_bytes()) == CREDENTIAL
    assert reader.poll() == CardRead(NTAG_UID, CREDENTIAL)


def test_write_interrupted_is_an_error_not_a_fault(port: FakePn532Serial, clock: Clock) -> None:
    reader = make_reader(port, clock)
    port.card = FakeNtag(NTAG_UID, write_fails_at=8)
    with pytest.raises(NfcError, match="page 8"):
        reader.write_user_area(ndef.encode_tlv(ndef.encode_record(CREDENTIAL)))
    assert reader.fault is None


def test_write_too_large_or_locked_is_refused(port: FakePn532Serial, clock: Clock) -> None:
    reader = make_reader(port, clock)
    port.card = FakeNtag(NTAG_UID)
    with pytest.raises(NfcError, match="do not fit"):
        reader.write_user_area(b"\x00" * 600)
    port.card.pages[3][3] = 0x0F  # capability container: no write access
    with pytest.raises(NfcError, match="write-protected"):
        reader.write_user_area(b"\x03\x00\xfe")


def test_broken_factory_is_a_no_firmware_fault(clock: Clock) -> None:
    faults: list[tuple[NfcFault, str]] = []

    def factory() -> Any:
        raise RuntimeError("Failed to detect the PN532")

    reader = Pn532Reader(factory, monotonic=clock, on_fault=lambda f, d: faults.append((f, d)))
    assert reader.poll() is None
    assert faults and faults[0][0] is NfcFault.NO_FIRMWARE


def test_bad_target_answer_is_a_protocol_fault(clock: Clock) -> None:
    chip = SimpleNamespace(
        firmware_version=(0x32, 1, 6, 7),
        call_function=lambda cmd, response_length=0, params=b"", timeout=1: (
            b"" if cmd == 0x32 else b"\x01\x01"
        ),
    )
    faults: list[tuple[NfcFault, str]] = []
    reader = Pn532Reader(lambda: chip, monotonic=clock, on_fault=lambda f, d: faults.append((f, d)))
    assert reader.poll() is None
    assert faults[0][0] is NfcFault.PROTOCOL


def test_fault_in_the_middle_of_a_credential_read_does_not_lose_the_tap(
    port: FakePn532Serial, clock: Clock
) -> None:
    faults: list[tuple[NfcFault, str]] = []
    reader = make_reader(port, clock, faults)
    port.card = ntag_with_credential()
    port.corrupt_command = 0x40  # the first page read after detection comes back corrupted
    assert reader.poll() is None
    assert faults[0][0] is NfcFault.PROTOCOL
    clock.t += 2.5
    assert reader.poll() == CardRead(NTAG_UID, CREDENTIAL)  # same card, still held: read now, once
    clock.t += 0.2
    assert reader.poll() is None


def test_firmware_of_a_vanished_reader_is_a_reader_fault(port: FakePn532Serial, clock: Clock) -> None:
    reader = make_reader(port, clock)
    reader.firmware()
    port.silent = True
    with pytest.raises(ReaderFault) as e:
        reader.firmware()
    assert e.value.fault is NfcFault.NO_FIRMWARE
    port.silent = False
    assert reader.firmware() == (0x32, 1, 6, 7)  # rebuilt on the next call
