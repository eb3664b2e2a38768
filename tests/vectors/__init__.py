"""Committed test vectors for shared_crypto, and the one routine that checks a vector against the library.

Each `tests/vectors/<object>.json` holds `signing_keys` (seeds, for people re-deriving the data) and
`vectors`, each with `id`, `description`, `inputs` (trusted keys or pinned root, `now`, `leeway` and the
context the verifier needs), `form` (how `data` is presented: `cose` bytes, `qr_text` or `header` as
ASCII), `data` (hex), optional `pad_zero_bytes` (zeros appended to `data`, so size-cap vectors stay
small on disk) and `expected`: `{"valid": true, "claims": {...}}` or `{"valid": false, "reason": "..."}`.
`python -m tests.vectors.generate` rewrites the files; they are deterministic (fixed seeds and times).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path
from typing import Any

from shared_crypto import (
    KeyRole,
    TrustedKey,
    TrustStore,
    VerificationError,
    VerifyKey,
    check_standing,
    verify_batch,
    verify_bundle,
    verify_card_credential,
    verify_device_auth,
    verify_qr_text,
    verify_time,
    verify_token,
    verify_trust_list,
)

VECTOR_DIR = Path(__file__).parent
OBJECTS = (
    "voucher_token",
    "card_credential",
    "allowlist_bundle",
    "trust_list",
    "meal_batch",
    "device_auth",
    "signed_time",
)


def to_json(value: Any) -> Any:
    """A verified object as plain JSON: bytes as hex, enums by name, sets sorted, dict keys as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, VerifyKey):
        return value.raw.hex()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, frozenset | set):
        return sorted(to_json(v) for v in value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def load(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((VECTOR_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return result


def _store(inputs: dict[str, Any]) -> TrustStore:
    return TrustStore(
        TrustedKey(VerifyKey(bytes.fromhex(k["public_key"])), KeyRole[k["role"]], k["nbf"], k["exp"])
        for k in inputs["trusted_keys"]
    )


def _verify(obj: str, form: str, data: bytes, inp: dict[str, Any]) -> Any:
    now, leeway = inp["now"], inp["leeway"]
    if obj == "voucher_token":
        school = inp.get("school_id")
        if form == "qr_text":
            tok = verify_qr_text(
                data.decode("latin-1"), _store(inp), now=now, leeway=leeway, school_id=school
            )
        else:
            tok = verify_token(data, _store(inp), now=now, leeway=leeway, school_id=school)
        if "min_serial" in inp:
            check_standing(tok, inp["min_serial"], {(v, s) for v, s in inp["revoked"]})
        return tok
    if obj == "card_credential":
        return verify_card_credential(
            data,
            _store(inp),
            uid=bytes.fromhex(inp["uid"]),
            now=now,
            leeway=leeway,
            school_id=inp.get("school_id"),
        )
    if obj == "allowlist_bundle":
        return verify_bundle(
            data,
            _store(inp),
            school_id=inp["school_id"],
            now=now,
            leeway=leeway,
            last_sequence=inp.get("last_sequence"),
        )
    if obj == "trust_list":
        root = VerifyKey(bytes.fromhex(inp["root_public_key"]))
        return verify_trust_list(data, root, now=now, leeway=leeway, last_sequence=inp.get("last_sequence"))
    if obj == "meal_batch":
        kid, batch = verify_batch(data, _store(inp), leeway=leeway)
        return {"kid": kid, "batch": batch}
    if obj == "device_auth":
        kid, auth = verify_device_auth(
            data.decode("latin-1"), _store(inp), request=inp["request"], now=now, leeway=leeway
        )
        return {"kid": kid, "auth": auth}
    if obj == "signed_time":
        return {"time": verify_time(data, _store(inp), nonce=bytes.fromhex(inp["nonce"]), leeway=leeway)}
    raise ValueError(f"unknown object type {obj}")


def check(obj: str, vector: dict[str, Any]) -> dict[str, Any]:
    """Verify one vector with shared_crypto; the result has the shape of `vector["expected"]`."""
    data = bytes.fromhex(vector["data"]) + bytes(vector.get("pad_zero_bytes", 0))
    try:
        result = _verify(obj, vector["form"], data, vector["inputs"])
    except VerificationError as exc:
        return {"valid": False, "reason": exc.reason.value}
    return {"valid": True, "claims": to_json(result)}
