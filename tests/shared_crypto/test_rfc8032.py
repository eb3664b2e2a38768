"""RFC 8032 §7.1 Ed25519 test vectors (TEST 1, 2, 3 and TEST 1024, a 1023-byte message) through shared_crypto.keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared_crypto import SigningKey, VerifyKey

_RFC = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        (Path(__file__).parent / "rfc8032_test1024.hex").read_text().replace("\n", ""),
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
        "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    ),
]


@pytest.mark.parametrize(("secret", "public", "message", "signature"), _RFC, ids=["1", "2", "3", "1024"])
def test_rfc8032_vector(secret: str, public: str, message: str, signature: str) -> None:
    key = SigningKey.from_seed(bytes.fromhex(secret))
    msg = bytes.fromhex(message)
    assert key.public.raw.hex() == public
    assert key.sign(msg).hex() == signature
    assert key.seed().hex() == secret
    vk = VerifyKey(bytes.fromhex(public))
    assert vk.verify(bytes.fromhex(signature), msg)
    bad = bytearray.fromhex(signature)
    bad[0] ^= 1
    assert not vk.verify(bytes(bad), msg)
    assert not vk.verify(bytes.fromhex(signature), msg + b"\x00")


def test_the_long_message_is_1023_bytes() -> None:
    assert len(bytes.fromhex(_RFC[3][2])) == 1023
