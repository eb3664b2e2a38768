"""`python -m shared_crypto inspect|verify|keygen`: read, check and make the scheme's signed objects.

Input is a QR text (`SW1:…`), hex, base64/base64url (a device-auth header), a file holding any of
those or the raw COSE bytes, an image of the QR code (PNG, JPEG, ...: a screenshot or photo of a pupil's
pass), or `-` for standard input. `--root` and `--key` take hex or a key file (the raw 32 bytes
provisioning writes, or its hex). The object type is found from its claim keys.
`verify` prints VALID or INVALID <REASON> and exits 0 or 1; a usage error exits 2.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import string
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

import cbor2

from . import claims as c
from .allowlist import C_SCHOOL as BUNDLE_SCHOOL
from .allowlist import MAX_BUNDLE, verify_bundle
from .card import C_UID, verify_card_credential
from .cose import ALG_EDDSA, H_ALG, H_KID, KeyLookup, decode_sign1
from .device_auth import C_NONCE, C_REQUEST, verify_device_auth, verify_time
from .errors import Reason, VerificationError
from .keys import PUBLIC_KEY_LEN, KeyRole, SigningKey, TrustedKey, VerifyKey
from .meal_batch import C_EVENTS, verify_batch
from .qr import PREFIX, from_qr_text
from .trust import C_KEYS, TrustStore, verify_trust_list
from .voucher_token import C_VOUCHER, verify_token

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
_MAX_INPUT = 2 * MAX_BUNDLE + 2  # the largest object, as hex with a newline
_ALG_NAMES = {ALG_EDDSA: "EdDSA", -7: "ES256", -35: "ES384", -36: "ES512", -37: "PS256"}


@dataclass(frozen=True)
class ObjectType:
    name: str
    marker: int  # a claim key only this object carries
    claim_names: dict[int, str]


_TIME = {c.IAT: "iat", c.EXP: "exp", c.NBF: "nbf"}
TYPES = (
    ObjectType(
        "voucher_token",
        C_VOUCHER,
        {**_TIME, -1: "voucher_id", -2: "school_id", -3: "serial", -4: "plan"},
    ),
    ObjectType(
        "card_credential",
        C_UID,
        {**_TIME, -20: "school_id", -21: "uid", -22: "pseudonym"},
    ),
    ObjectType(
        "allowlist_bundle",
        BUNDLE_SCHOOL,
        {**_TIME, -40: "school_id", -41: "sequence", -42: "entries", -43: "calendar", -44: "revoked"},
    ),
    ObjectType("trust_list", C_KEYS, {**_TIME, -60: "sequence", -61: "keys"}),
    ObjectType("meal_batch", C_EVENTS, {**_TIME, -80: "terminal_id", -82: "events"}),
    ObjectType("device_auth", C_REQUEST, {**_TIME, -90: "terminal_id", -91: "request"}),
    ObjectType("signed_time", C_NONCE, {**_TIME, -95: "nonce"}),
)


class UsageError(Exception):
    """A missing or contradictory option: exit 2."""


# ---- reading input ---------------------------------------------------------------------------------------


def _is_file(arg: str) -> bool:
    try:
        return Path(arg).is_file()
    except (OSError, ValueError):  # a long hex or base64 argument is no file name
        return False


# Image files by their first bytes: PNG, JPEG, GIF, BMP, WebP (RIFF), TIFF.
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF", b"II*\x00", b"MM\x00*")
_MAX_IMAGE = 32 << 20


def qr_text_of_image(path: Path) -> str:
    """The text of the one QR code in an image file (zxing-cpp, as the terminal decodes)."""
    try:
        import zxingcpp
        from PIL import Image, UnidentifiedImageError
    except ImportError as e:
        raise UsageError(f"reading QR images needs zxing-cpp and pillow (the device extra): {e}") from None
    try:
        with Image.open(path) as img:
            gray = img.convert("L")
    except (UnidentifiedImageError, OSError) as e:
        raise VerificationError(Reason.MALFORMED, f"{path}: not a readable image ({e})") from None
    codes = [
        r
        for r in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
        if r.valid
    ]
    if len(codes) != 1:
        found = "no QR code" if not codes else f"{len(codes)} QR codes"
        raise VerificationError(Reason.MALFORMED, f"{path}: {found} found in the image (one expected)")
    return str(codes[0].text)


def read_input(arg: str) -> tuple[bytes, str]:
    """(COSE bytes, what the input was). Undecodable input raises VerificationError(MALFORMED)."""
    if arg == "-":
        raw = sys.stdin.buffer.read(_MAX_INPUT + 1)
    elif _is_file(arg):
        with Path(arg).open("rb") as f:
            raw = f.read(_MAX_INPUT + 1)
        if raw.startswith(_IMAGE_MAGIC) and Path(arg).stat().st_size <= _MAX_IMAGE:
            text = qr_text_of_image(Path(arg))
            if not text.startswith(PREFIX):
                raise VerificationError(Reason.MALFORMED, f"the image's QR code is not {PREFIX}… text")
            return from_qr_text(text), "qr_image"
    else:
        raw = arg.encode("utf-8")
    if len(raw) > _MAX_INPUT:
        raise VerificationError(Reason.TOO_LARGE, f"input over {_MAX_INPUT} bytes")
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return raw, "binary"
    if text.startswith(PREFIX):
        return from_qr_text(text), "qr_text"
    if text and len(text) % 2 == 0 and all(ch in string.hexdigits for ch in text):
        return bytes.fromhex(text), "hex"
    b64 = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True), "base64"
    except (binascii.Error, ValueError):
        raise VerificationError(
            Reason.MALFORMED, "input is not QR text, hex, base64 or a file of COSE bytes"
        ) from None


@dataclass(frozen=True)
class Parsed:
    """A COSE_Sign1 read leniently, for showing and for finding its type; nothing here is verified."""

    tagged: bool
    header: dict[Any, Any]
    unprotected: dict[Any, Any]
    claims: dict[Any, Any]
    signature: bytes
    type: ObjectType | None


def parse(cose: bytes) -> Parsed:
    try:
        obj = cbor2.loads(cose)
        tagged = isinstance(obj, cbor2.CBORTag)
        protected, unprotected, payload, signature = obj.value if tagged else obj
        header = cbor2.loads(protected) if protected else {}
        claims = cbor2.loads(payload)
    except Exception:  # cbor2 raises many types; anything unreadable is simply not our object
        raise VerificationError(Reason.MALFORMED, "not a readable COSE_Sign1 with a CBOR payload") from None
    if not all(isinstance(x, dict) for x in (header, unprotected, claims)) or not isinstance(
        signature, bytes
    ):
        raise VerificationError(Reason.MALFORMED, "COSE_Sign1 parts have the wrong types")
    found = next((t for t in TYPES if t.marker in claims), None)
    return Parsed(tagged, header, unprotected, claims, signature, found)


# ---- printing --------------------------------------------------------------------------------------------


def _fmt(value: Any, key: int | None = None) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, int) and not isinstance(value, bool) and key in _TIME and 0 <= value < 2**34:
        return f"{value} ({dt.datetime.fromtimestamp(value, dt.UTC).isoformat().replace('+00:00', 'Z')})"
    if isinstance(value, list):
        shown = [_fmt(v) for v in value[:3]]
        more = f", … ({len(value)} items)" if len(value) > 3 else ""
        return "[" + ", ".join(shown) + more + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_fmt(k)}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, cbor2.CBORTag):
        return f"tag {value.tag}({_fmt(value.value)})"
    return repr(value)


def _plain(value: Any) -> Any:
    """A verified object in printable form (bytes as hex, enums by name)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, VerifyKey):
        return value.raw.hex()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def inspect(args: argparse.Namespace, out: TextIO) -> int:
    """Show header and claims by name; exit 1 if the object breaks the strict structure rules."""
    cose, source = read_input(args.input)
    p = parse(cose)
    alg = p.header.get(H_ALG)
    kid = p.header.get(H_KID)
    print(f"input: {source}, {len(cose)} bytes, {'tagged' if p.tagged else 'untagged'} COSE_Sign1", file=out)
    print(f"type: {p.type.name if p.type else 'unknown'}", file=out)
    print(
        f"protected: alg {alg!r} ({_ALG_NAMES.get(alg, '?') if isinstance(alg, int) else '?'}), kid {_fmt(kid)}",
        file=out,
    )
    if p.unprotected:
        print(f"unprotected: {_fmt(p.unprotected)}", file=out)
    print("claims (not verified):", file=out)
    names = p.type.claim_names if p.type else {}
    for key, value in p.claims.items():
        print(f"  {names.get(key, '?')} ({key}): {_fmt(value, key)}", file=out)
    print(f"signature: {p.signature.hex()}", file=out)
    try:
        decode_sign1(cose, MAX_BUNDLE)
    except VerificationError as exc:
        print(f"structure: INVALID {exc.reason.value}: {exc.detail}", file=out)
        return EXIT_INVALID
    print("structure: ok (use verify for signature, keys and time)", file=out)
    return EXIT_VALID


# ---- verifying -------------------------------------------------------------------------------------------


def _public_key(value: str) -> bytes:
    """A public key as hex, or a file holding it: raw 32 bytes (provisioning's root_key.pub) or hex."""
    if _is_file(value):
        raw = Path(value).read_bytes()[:200]
        if len(raw) == PUBLIC_KEY_LEN:
            return raw
        try:
            key = bytes.fromhex(raw.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            key = b""
        if len(key) != PUBLIC_KEY_LEN:
            raise argparse.ArgumentTypeError(
                f"{value} holds {len(raw)} bytes: neither a raw {PUBLIC_KEY_LEN}-byte public key nor its hex"
            )
        return key
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is neither hex nor a key file") from None
    if len(raw) != PUBLIC_KEY_LEN:
        raise argparse.ArgumentTypeError(f"expected {PUBLIC_KEY_LEN} bytes, got {len(raw)}")
    return raw


def _parse_time(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is neither unix seconds nor ISO 8601") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("an ISO 8601 time needs its UTC offset, e.g. +05:00")
    return int(parsed.timestamp())


def _hex_bytes(length: int | None) -> Callable[[str], bytes]:
    def parse(value: str) -> bytes:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not hex") from None
        if length is not None and len(raw) != length:
            raise argparse.ArgumentTypeError(f"expected {length} bytes, got {len(raw)}")
        return raw

    return parse


def _keys(args: argparse.Namespace, now: int) -> KeyLookup:
    if args.trust_list is not None:
        tl_cose, _ = read_input(str(args.trust_list))
        tl = verify_trust_list(tl_cose, VerifyKey(args.root), now=now, leeway=args.leeway)
        return TrustStore(tl.keys)
    # A bare key has no validity period of its own: it is trusted at any time.
    return TrustStore([TrustedKey(VerifyKey(args.key), KeyRole[args.role], 0, 2**64)])


def _need(args: argparse.Namespace, name: str, what: str) -> Any:
    value = getattr(args, name)
    if value is None:
        raise UsageError(f"--{name.replace('_', '-')} is needed to verify a {what}")
    return value


def _trust_list_root(args: argparse.Namespace) -> bytes:
    if args.trust_list is not None:
        raise UsageError(
            "a trust list is verified against the root alone: give --root PUB (or --key PUB --role ROOT)"
        )
    if args.root is not None:
        return bytes(args.root)
    if args.key is not None and args.role == KeyRole.ROOT.name:
        return bytes(args.key)
    raise UsageError("give --root PUB, the pinned root public key")


def _check_key_options(args: argparse.Namespace) -> None:
    if (args.trust_list is None) == (args.key is None):
        raise UsageError("give either --trust-list FILE with --root PUB, or --key PUB with --role ROLE")
    if args.trust_list is not None and args.root is None:
        raise UsageError("--trust-list needs --root (the pinned root public key)")
    if args.key is not None and args.role is None:
        raise UsageError("--key needs --role")


def verify(args: argparse.Namespace, out: TextIO) -> int:
    now: int = args.now if args.now is not None else int(time.time())
    leeway: int = args.leeway
    cose, _ = read_input(args.input)
    obj_type = parse(cose).type
    if obj_type is None:
        raise VerificationError(Reason.MALFORMED, "not one of the scheme's objects")
    result: Any
    if obj_type.name == "trust_list":
        root = VerifyKey(_trust_list_root(args))
        result = verify_trust_list(cose, root, now=now, leeway=leeway, last_sequence=args.last_sequence)
    else:
        _check_key_options(args)
        keys = _keys(args, now)
        if obj_type.name == "voucher_token":
            result = verify_token(cose, keys, now=now, leeway=leeway, school_id=args.school)
        elif obj_type.name == "card_credential":
            uid = _need(args, "uid", "card credential")
            result = verify_card_credential(
                cose, keys, uid=uid, now=now, leeway=leeway, school_id=args.school
            )
        elif obj_type.name == "allowlist_bundle":
            school = _need(args, "school", "bundle")
            result = verify_bundle(
                cose, keys, school_id=school, now=now, leeway=leeway, last_sequence=args.last_sequence
            )
        elif obj_type.name == "meal_batch":
            result = verify_batch(cose, keys, leeway=leeway)[1]
        elif obj_type.name == "device_auth":
            header = base64.urlsafe_b64encode(cose).rstrip(b"=").decode("ascii")
            request = _need(args, "request", "device auth token")
            result = verify_device_auth(header, keys, request=request, now=now, leeway=leeway)[1]
        else:
            nonce = _need(args, "nonce", "signed time")
            result = {"time": verify_time(cose, keys, nonce=nonce, leeway=leeway)}
    print(f"VALID {obj_type.name} (now {now}, leeway {leeway} s)", file=out)
    for key, value in _plain(result).items():
        print(f"  {key}: {_fmt(value)}", file=out)
    return EXIT_VALID


# ---- keygen ----------------------------------------------------------------------------------------------


def keygen(args: argparse.Namespace, out: TextIO) -> int:
    key = SigningKey.generate()
    try:
        key.save(args.out)
    except FileExistsError:
        raise UsageError(f"{args.out} exists; refusing to overwrite a key") from None
    print(f"wrote {args.out} (PKCS#8 PEM, mode 0600)", file=out)
    print(f"public_key {key.public.raw.hex()}", file=out)
    print(f"kid {key.kid.hex()}", file=out)
    return EXIT_VALID


# ---- entry point -----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared_crypto", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_inspect = sub.add_parser("inspect", help="print the header and claims (does not verify)")
    what = "QR text, hex, base64, a file (COSE bytes, any of those, or a QR image), or - for stdin"
    p_inspect.add_argument("input", help=what)
    p_verify = sub.add_parser("verify", help="verify signature, key, time and context; print the verdict")
    p_verify.add_argument("input", help=what)
    p_verify.add_argument("--trust-list", type=Path, help="trust list file (COSE bytes, hex or base64)")
    p_verify.add_argument(
        "--root", type=_public_key, help="pinned root public key: hex, or the raw 32-byte root_key.pub file"
    )
    p_verify.add_argument("--key", type=_public_key, help="a single trusted public key: hex or a key file")
    p_verify.add_argument("--role", choices=[r.name for r in KeyRole], help="the role of --key")
    p_verify.add_argument("--now", type=_parse_time, help="unix seconds or ISO 8601 (default: this clock)")
    p_verify.add_argument("--leeway", type=int, required=True, help="clock leeway in seconds (no default)")
    p_verify.add_argument("--school", type=int, help="this terminal's school id")
    p_verify.add_argument("--uid", type=_hex_bytes(None), help="card UID the credential was read from (hex)")
    p_verify.add_argument("--last-sequence", type=int, help="sequence of the bundle or trust list held")
    p_verify.add_argument(
        "--request", help='device auth: the request line, e.g. "GET /api/terminal/v1/allowlist"'
    )
    p_verify.add_argument("--nonce", type=_hex_bytes(16), help="signed time: the nonce sent (hex)")
    p_keygen = sub.add_parser("keygen", help="make an Ed25519 key: PEM file 0600, print public key and kid")
    p_keygen.add_argument("out", type=Path, help="where to write the private key (must not exist)")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command == "verify" and args.leeway < 0:
        print("error: --leeway must be ≥ 0", file=sys.stderr)
        return EXIT_USAGE
    commands: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
        "inspect": inspect,
        "verify": verify,
        "keygen": keygen,
    }
    try:
        return commands[args.command](args, out)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except VerificationError as exc:
        print(f"INVALID {exc.reason.value}" + (f": {exc.detail}" if exc.detail else ""), file=out)
        return EXIT_INVALID
