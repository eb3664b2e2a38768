"""shared_crypto: decode+verify of one QR text against a bare Ed25519 verify, sizes, and a school's bundle.

Writes bench/results/shared_crypto.json. The QR path (prefix, base45, strict CBOR, header rules, key
lookup, Ed25519, claims, window, school) and the bare `cryptography` Ed25519 verify of the same
Sig_structure are timed alternately in one loop, so both see the same machine state; the goal is a
median ratio of at most 1.5.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import time
from importlib.metadata import version
from pathlib import Path

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared_crypto import (
    Bundle,
    Calendar,
    Entry,
    EntryStatus,
    KeyRole,
    MealSlot,
    SigningKey,
    TrustedKey,
    TrustStore,
    VoucherToken,
    issue_qr_text,
    sign_bundle,
    uid_hash,
    verify_bundle,
    verify_qr_text,
)
from shared_crypto.cbor import dumps, loads_strict
from shared_crypto.qr import from_qr_text

N_QR = 20_000
N_BUNDLE = 30
BUNDLE_ENTRIES = 2_000
GOAL_RATIO = 1.5
NOW = 1_757_300_000
SCHOOL = 4242


def _key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"bench/" + name.encode()).digest())


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(ns: list[int]) -> dict[str, float]:
    us = [x / 1000 for x in ns]
    return {
        "median_us": round(statistics.median(us), 2),
        "p99_us": round(_percentile(us, 0.99), 2),
        "mean_us": round(statistics.fmean(us), 2),
    }


def _qr_vs_bare(issuer: SigningKey, trust: TrustStore) -> dict[str, object]:
    # Worst-case-sized token: every integer at its widest encoding.
    token = VoucherToken(0xFFFF_FFF0, SCHOOL, 0xFFF0, 23, NOW - 60, NOW + 300)
    text = issue_qr_text(issuer, token)
    cose = from_qr_text(text)
    protected, _, payload, signature = loads_strict(cose, 256, "bench").value
    message = dumps(["Signature1", protected, b"", payload])
    bare_key = Ed25519PublicKey.from_public_bytes(issuer.public.raw)
    for _ in range(500):  # warm-up
        verify_qr_text(text, trust, now=NOW, leeway=30, school_id=SCHOOL)
        bare_key.verify(signature, message)
    qr_ns: list[int] = []
    bare_ns: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(N_QR):
        t0 = clock()
        verify_qr_text(text, trust, now=NOW, leeway=30, school_id=SCHOOL)
        t1 = clock()
        bare_key.verify(signature, message)
        t2 = clock()
        qr_ns.append(t1 - t0)
        bare_ns.append(t2 - t1)
    qr = _summary(qr_ns)
    bare = _summary(bare_ns)
    ratio = qr["median_us"] / bare["median_us"]
    issue_ns = []
    for _ in range(2000):
        t0 = clock()
        issue_qr_text(issuer, token)
        issue_ns.append(clock() - t0)
    qr_code = segno.make_qr(text, error="m", boost_error=False)
    return {
        "n": N_QR,
        "qr_decode_verify": qr,
        "bare_ed25519_verify": {**bare, "library": f"cryptography {version('cryptography')}"},
        "ratio_median": round(ratio, 3),
        "ratio_p99": round(qr["p99_us"] / bare["p99_us"], 3),
        "goal_ratio": GOAL_RATIO,
        "meets_goal": ratio <= GOAL_RATIO,
        "overhead_median_us": round(qr["median_us"] - bare["median_us"], 2),
        "issue_qr_text": _summary(issue_ns),
        "sizes": {
            "token_bytes": len(cose),
            "qr_text_chars": len(text),
            "qr_version_at_M": qr_code.version,
            "qr_mode": qr_code.mode,
            "note": "32-bit voucher id and times, 16-bit serial; school id 4242 (a 32-bit one adds 2 bytes)",
        },
    }


def _bundle(signer: SigningKey, trust: TrustStore) -> dict[str, object]:
    entries = tuple(
        Entry(
            voucher_id=1_000_000 + i,
            pseudonym=hashlib.sha256(b"pupil-%d" % i).digest()[:16],
            card_uid_hashes=(uid_hash(i.to_bytes(7, "big")),) if i % 2 else (),
            plan=1 + i % 2,
            status=EntryStatus.ACTIVE,
            min_serial=i % 7,
            display=f"А. Б., {1 + i % 11}{'АБВГ'[i % 4]}",
        )
        for i in range(BUNDLE_ENTRIES)
    )
    days: dict[int, tuple[int, ...]] = {20250901 + d: (1, 2) for d in range(25)}
    calendar = Calendar(300, (MealSlot(1, 540, 600), MealSlot(2, 720, 810)), days)
    revoked = frozenset((1_000_000 + i, 0) for i in range(0, BUNDLE_ENTRIES, 50))
    bundle = Bundle(SCHOOL, 42, NOW - 3600, NOW + 86_400, entries, calendar, revoked)
    data = sign_bundle(signer, bundle)
    ms: list[float] = []
    for _ in range(N_BUNDLE):
        t0 = time.perf_counter()
        verify_bundle(data, trust, school_id=SCHOOL, now=NOW, leeway=30, last_sequence=41)
        ms.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    sign_bundle(signer, bundle)
    sign_ms = (time.perf_counter() - t0) * 1000
    return {
        "entries": BUNDLE_ENTRIES,
        "bytes": len(data),
        "verify_median_ms": round(statistics.median(ms), 2),
        "verify_max_ms": round(max(ms), 2),
        "sign_ms": round(sign_ms, 2),
        "runs": N_BUNDLE,
    }


def main(results_dir: Path) -> None:
    issuer, signer = _key("issuer"), _key("signer")
    span = (NOW - 86_400, NOW + 86_400)
    trust = TrustStore(
        [
            TrustedKey(issuer.public, KeyRole.VOUCHER_ISSUER, *span),
            TrustedKey(signer.public, KeyRole.ALLOWLIST_SIGNER, *span),
        ]
    )
    result = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu": platform.machine(),
            "cores": os.cpu_count(),
            "load_average_1min_before": round(os.getloadavg()[0], 2),  # the machine is shared: p99 is noisy
        },
        "libraries": {name: version(name) for name in ("cryptography", "cbor2", "base45", "segno")},
        "qr_token": _qr_vs_bare(issuer, trust),
        "allowlist_bundle": _bundle(signer, trust),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "shared_crypto.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main(Path(__file__).parent / "results")
