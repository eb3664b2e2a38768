"""`python -m shared_crypto inspect|verify|keygen`, driven through main(argv)."""

from __future__ import annotations

import base64
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared_crypto import SigningKey, from_qr_text, sign_trust_list
from shared_crypto.cli import main
from tests.vectors import load

from .helpers import NOW


def _vector(obj: str, vid: str) -> dict[str, Any]:
    return next(v for v in load(obj)["vectors"] if v["id"] == vid)


def _pub(obj: str, name: str) -> str:
    return str(load(obj)["signing_keys"][name]["public_key"])


QR = bytes.fromhex(_vector("voucher_token", "valid")["data"]).decode()
ISSUER_PUB = _pub("voucher_token", "issuer_new")
ROOT_PUB = _pub("trust_list", "root")
TRUST_LIST_HEX = _vector("trust_list", "valid")["data"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_inspect_qr_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", QR)
    assert code == 0
    assert "type: voucher_token" in out
    assert "alg -8 (EdDSA)" in out
    assert f"kid {load('voucher_token')['signing_keys']['issuer_new']['kid']}" in out
    assert "school_id (-2): 4242" in out and "serial (-3): 3" in out
    assert "exp (4): 1757300300 (2025-09-08T02:58:20Z)" in out
    assert "structure: ok" in out


@pytest.mark.parametrize(
    ("obj", "vid", "type_name"),
    [
        ("card_credential", "valid", "card_credential"),
        ("allowlist_bundle", "valid", "allowlist_bundle"),
        ("trust_list", "valid", "trust_list"),
        ("meal_batch", "valid", "meal_batch"),
        ("signed_time", "valid", "signed_time"),
        ("device_auth", "valid", "device_auth"),
    ],
)
def test_inspect_detects_each_type_from_hex_base64_and_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, obj: str, vid: str, type_name: str
) -> None:
    raw = bytes.fromhex(_vector(obj, vid)["data"])
    if obj == "device_auth":  # the header form: base64url text
        forms = [raw.decode()]
    else:
        (tmp_path / "obj.cbor").write_bytes(raw)
        forms = [raw.hex(), base64.b64encode(raw).decode(), str(tmp_path / "obj.cbor")]
    for form in forms:
        code, out, _ = run(capsys, "inspect", form)
        assert code == 0, form
        assert f"type: {type_name}" in out


def test_inspect_shows_a_structure_problem(capsys: pytest.CaptureFixture[str]) -> None:
    text = bytes.fromhex(_vector("voucher_token", "header-conflict-alg")["data"]).decode()
    code, out, _ = run(capsys, "inspect", text)
    assert code == 1
    assert "structure: INVALID HEADER_CONFLICT" in out


def test_inspect_garbage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", "not a token!")
    assert code == 1
    assert out.startswith("INVALID MALFORMED")


def test_oversized_input_is_refused_before_reading_it_all(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = tmp_path / "big.hex"
    big.write_bytes(b"00" * (8 * 1024 * 1024 + 2))
    code, out, _ = run(capsys, "inspect", str(big))
    assert code == 1 and out.startswith("INVALID TOO_LARGE")


def test_verify_with_a_key(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "verify",
        QR,
        "--key",
        ISSUER_PUB,
        "--role",
        "VOUCHER_ISSUER",
        "--now",
        str(NOW),
        "--leeway",
        "30",
    ]
    code, out, _ = run(capsys, *args, "--school", "4242")
    assert code == 0
    assert out.startswith("VALID voucher_token")
    assert "serial: 3" in out


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (["--now", str(NOW + 400)], "EXPIRED"),
        (["--now", str(NOW - 400)], "NOT_YET_VALID"),
        (["--now", str(NOW), "--school", "1"], "WRONG_SCHOOL"),
    ],
)
def test_verify_prints_the_reason(capsys: pytest.CaptureFixture[str], extra: list[str], reason: str) -> None:
    code, out, _ = run(
        capsys, "verify", QR, "--key", ISSUER_PUB, "--role", "VOUCHER_ISSUER", "--leeway", "30", *extra
    )
    assert code == 1
    assert out.startswith(f"INVALID {reason}")


def test_verify_with_a_wrong_role_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "verify", QR, "--key", ISSUER_PUB, "--role", "DEVICE", "--now", str(NOW), "--leeway", "0"
    )
    assert code == 1 and out.startswith("INVALID WRONG_KEY_ROLE")


def test_verify_with_a_trust_list_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tl = tmp_path / "trust.cose"
    tl.write_bytes(bytes.fromhex(TRUST_LIST_HEX))
    base = ["verify", QR, "--trust-list", str(tl), "--leeway", "30", "--now", "2025-09-08T07:55:00+05:00"]
    code, out, _ = run(capsys, *base, "--root", ROOT_PUB)
    assert code == 0 and out.startswith("VALID voucher_token (now 1757300100")
    other_root = SigningKey.from_seed(b"\x01" * 32).public.raw.hex()
    code, out, _ = run(capsys, *base, "--root", other_root)
    assert code == 1 and out.startswith("INVALID UNKNOWN_KID")


def test_verify_a_trust_list_against_the_root(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["verify", TRUST_LIST_HEX, "--root", ROOT_PUB, "--now", str(NOW), "--leeway", "0"]
    code, out, _ = run(capsys, *args)
    assert code == 0 and out.startswith("VALID trust_list")
    code, out, _ = run(capsys, *args, "--last-sequence", "6")
    assert code == 1 and out.startswith("INVALID ROLLBACK")


def test_verify_other_objects(capsys: pytest.CaptureFixture[str]) -> None:
    signer, device, card = (
        _pub("allowlist_bundle", "signer"),
        _pub("meal_batch", "device"),
        _pub("card_credential", "card"),
    )
    common = ["--now", str(NOW), "--leeway", "30"]
    bundle = _vector("allowlist_bundle", "valid")["data"]
    assert (
        run(
            capsys,
            "verify",
            bundle,
            "--key",
            signer,
            "--role",
            "ALLOWLIST_SIGNER",
            "--school",
            "4242",
            *common,
        )[0]
        == 0
    )
    batch = _vector("meal_batch", "valid")["data"]
    assert run(capsys, "verify", batch, "--key", device, "--role", "DEVICE", *common)[0] == 0
    cred = _vector("card_credential", "valid")
    uid = cred["inputs"]["uid"]
    assert (
        run(capsys, "verify", cred["data"], "--key", card, "--role", "CARD_ISSUER", "--uid", uid, *common)[0]
        == 0
    )
    code, out, _ = run(
        capsys, "verify", cred["data"], "--key", card, "--role", "CARD_ISSUER", "--uid", "01020304", *common
    )
    assert code == 1 and out.startswith("INVALID CARD_MISMATCH")
    auth = _vector("device_auth", "valid")
    header = bytes.fromhex(auth["data"]).decode()
    req = auth["inputs"]["request"]
    assert (
        run(capsys, "verify", header, "--key", device, "--role", "DEVICE", "--request", req, *common)[0] == 0
    )
    st = _vector("signed_time", "valid")
    code, out, _ = run(
        capsys,
        "verify",
        st["data"],
        "--key",
        signer,
        "--role",
        "ALLOWLIST_SIGNER",
        "--nonce",
        st["inputs"]["nonce"],
        *common,
    )
    assert code == 0 and f"time: {NOW}" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", QR, "--now", str(NOW)],  # no leeway
        ["verify", QR, "--leeway", "30"],  # no key
        ["verify", QR, "--leeway", "30", "--key", ISSUER_PUB],  # no role
        ["verify", QR, "--leeway", "-1", "--key", ISSUER_PUB, "--role", "VOUCHER_ISSUER"],
        ["verify", QR, "--leeway", "30", "--key", "abcd", "--role", "VOUCHER_ISSUER"],  # short key
        ["verify", QR, "--leeway", "30", "--trust-list", "x.cose"],  # no root
        [
            "verify",
            QR,
            "--leeway",
            "30",
            "--key",
            ISSUER_PUB,
            "--role",
            "VOUCHER_ISSUER",
            "--now",
            "2025-09-08T07:55",
        ],
        [
            "verify",
            _vector("card_credential", "valid")["data"],
            "--leeway",
            "0",
            "--key",
            ISSUER_PUB,
            "--role",
            "CARD_ISSUER",
        ],
        ["verify", TRUST_LIST_HEX, "--leeway", "0"],
        ["frobnicate"],
        [],
    ],
    ids=[
        "no-leeway",
        "no-key",
        "no-role",
        "neg-leeway",
        "short-key",
        "no-root",
        "naive-time",
        "no-uid",
        "tl-no-root",
        "cmd",
        "none",
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert run(capsys, *argv)[0] == 2


def test_keygen(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "device.pem"
    code, out, _ = run(capsys, "keygen", str(path))
    assert code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = SigningKey.load(path)
    assert f"public_key {key.public.raw.hex()}" in out
    assert f"kid {key.kid.hex()}" in out
    assert run(capsys, "keygen", str(path))[0] == 2  # never overwrites


def test_stdin_and_module_entry_point(tmp_path: Path) -> None:
    """`python -m shared_crypto` reads `-` from stdin and exits with the verdict's code."""
    cose = from_qr_text(QR)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared_crypto",
            "verify",
            "-",
            "--key",
            ISSUER_PUB,
            "--role",
            "VOUCHER_ISSUER",
            "--now",
            str(NOW + 999),
            "--leeway",
            "0",
        ],
        input=cose,
        capture_output=True,
        cwd=root,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith(b"INVALID EXPIRED")


def test_trust_list_made_here_verifies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from shared_crypto import TrustList

    root = SigningKey.from_seed(b"\x02" * 32)
    data = sign_trust_list(root, TrustList(1, NOW, NOW + 10, ()))
    code, out, _ = run(
        capsys,
        "verify",
        data.hex(),
        "--key",
        root.public.raw.hex(),
        "--role",
        "ROOT",
        "--now",
        str(NOW),
        "--leeway",
        "0",
    )
    assert code == 0 and "sequence: 1" in out


def test_expired_names_the_object_and_a_readable_time(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["verify", QR, "--key", ISSUER_PUB, "--role", "VOUCHER_ISSUER", "--leeway", "30"]
    code, out, _ = run(capsys, *args, "--now", str(NOW + 400))
    assert code == 1
    assert out.startswith("INVALID EXPIRED: voucher token of voucher ")
    assert "expired at 2025-09-08T02:58:20Z (1757300300)" in out
    assert "(leeway 30 s)" in out
    far = "2099-01-01T00:00:00+00:00"
    code, out, _ = run(capsys, "verify", TRUST_LIST_HEX, "--root", ROOT_PUB, "--leeway", "0", "--now", far)
    assert code == 1 and out.startswith("INVALID EXPIRED: trust list expired at 20")
    assert "now 2099-01-01T00:00:00Z (4070908800)" in out


def test_root_from_the_raw_key_file_provisioning_writes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw_file = tmp_path / "root_key.pub"
    raw_file.write_bytes(bytes.fromhex(ROOT_PUB))
    hex_file = tmp_path / "root.hex"
    hex_file.write_text(ROOT_PUB + "\n")
    for root in (str(raw_file), str(hex_file), ROOT_PUB):
        code, out, _ = run(
            capsys, "verify", TRUST_LIST_HEX, "--root", root, "--now", str(NOW), "--leeway", "0"
        )
        assert code == 0 and out.startswith("VALID trust_list"), root
    short = tmp_path / "short.pub"
    short.write_bytes(b"\x01" * 31)
    code, _, err = run(capsys, "verify", TRUST_LIST_HEX, "--root", str(short), "--leeway", "0")
    assert code == 2 and "holds 31 bytes" in err


def _qr_png(text: str, path: Path, *, scale: int = 4) -> Path:
    import segno

    segno.make_qr(text, error="m").save(str(path), scale=scale, border=4)
    return path


def test_inspect_and_verify_read_a_qr_image(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = _qr_png(QR, tmp_path / "pass.png")
    code, out, _ = run(capsys, "inspect", str(png))
    assert code == 0
    assert out.startswith("input: qr_image")
    assert "type: voucher_token" in out and "serial (-3): 3" in out
    from PIL import Image

    jpg = tmp_path / "photo.jpg"
    with Image.open(png) as img:
        img.convert("L").resize((img.width * 2, img.height * 2)).save(jpg, quality=85)
    code, out, _ = run(
        capsys, "verify", str(jpg), "--key", ISSUER_PUB, "--role", "VOUCHER_ISSUER", "--leeway", "30",
        "--now", str(NOW), "--school", "4242",
    )  # fmt: skip
    assert code == 0 and out.startswith("VALID voucher_token")


def test_an_image_without_a_scheme_qr_is_malformed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    code, out, _ = run(capsys, "inspect", str(blank))
    assert code == 1 and out.startswith("INVALID MALFORMED") and "no QR code" in out
    other = _qr_png("https://example.kz", tmp_path / "url.png")
    code, out, _ = run(capsys, "inspect", str(other))
    assert code == 1 and "not SW1:" in out
