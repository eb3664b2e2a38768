import pytest
from hypothesis import given
from hypothesis import strategies as st

from device.hw import ndef
from device.hw.ndef import NdefError, NdefReason


def test_short_record_layout_is_nfc_forum_external_type() -> None:
    rec = ndef.encode_record(b"\xd2\x84")
    # MB|ME|SR|TNF=4, type length 8, payload length 2, type, payload
    assert rec == b"\xd4\x08\x02sw.kz:cc\xd2\x84"


def test_tlv_round_trip_short_and_long_forms() -> None:
    for size in (1, 150, 254, 300):
        payload = bytes(i % 251 for i in range(size))
        area = ndef.encode_tlv(ndef.encode_record(payload)) + b"\x00" * 8
        assert ndef.card_credential(area) == payload
    long_tlv = ndef.encode_tlv(b"\x00" * 300)
    assert long_tlv[:4] == b"\x03\xff\x01\x2c" and long_tlv[-1] == 0xFE


def test_lock_and_null_tlvs_before_the_message_are_skipped() -> None:
    area = b"\x00\x01\x03\xa0\x10\x44" + ndef.encode_tlv(ndef.encode_record(b"abc"))
    assert ndef.card_credential(area) == b"abc"


def test_blank_card_has_no_ndef() -> None:
    with pytest.raises(NdefError) as e:
        ndef.card_credential(b"\x00" * 64)
    assert e.value.reason is NdefReason.NO_NDEF
    with pytest.raises(NdefError) as e:
        ndef.card_credential(b"\xfe" + b"\x00" * 15)
    assert e.value.reason is NdefReason.NO_NDEF


def test_truncated_message_is_reported() -> None:
    area = ndef.encode_tlv(ndef.encode_record(b"x" * 100))[:50]
    with pytest.raises(NdefError) as e:
        ndef.card_credential(area)
    assert e.value.reason is NdefReason.TRUNCATED


def test_other_record_type_is_not_ours() -> None:
    uri = bytes([0xD1, 1, 5]) + b"U\x04a.kz"  # a well-known URI record
    with pytest.raises(NdefError) as e:
        ndef.card_credential(ndef.encode_tlv(uri))
    assert e.value.reason is NdefReason.NOT_FOUND


def test_chunked_and_misflagged_records_are_refused() -> None:
    chunked = bytes([0xB4, 8, 1]) + b"sw.kz:cc" + b"x"
    no_end = bytes([0x94, 8, 1]) + b"sw.kz:cc" + b"x"
    for msg in (chunked, no_end):
        with pytest.raises(NdefError) as e:
            ndef.card_credential(ndef.encode_tlv(msg))
        assert e.value.reason is NdefReason.MALFORMED


def test_second_record_found_after_first() -> None:
    first = bytes([0x91, 1, 1]) + b"T" + b"z"  # MB, SR, TNF1, no ME
    ours = bytes([0x54, 8, 2]) + b"sw.kz:cc" + b"ok"  # ME, SR, TNF4
    assert ndef.card_credential(ndef.encode_tlv(first + ours)) == b"ok"


def test_tlv_needed_tells_how_much_to_read() -> None:
    tlv = ndef.encode_tlv(ndef.encode_record(b"y" * 40))
    assert ndef.tlv_needed(tlv[:1]) is None
    assert ndef.tlv_needed(tlv[:16]) == len(tlv) - 1  # terminator not counted


@given(st.binary(max_size=600))
def test_any_bytes_give_a_payload_or_an_ndef_error(data: bytes) -> None:
    try:
        ndef.card_credential(data)
    except NdefError as e:
        assert isinstance(e.reason, NdefReason)
