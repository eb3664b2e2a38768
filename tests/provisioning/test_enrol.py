import io
import stat
from pathlib import Path

import httpx
import pytest

from device.config import DeviceConfig
from device.hw.config import HardwareConfig
from provisioning.config import read_config
from provisioning.enrol import EnrolClient, enrol_terminal, load_or_create_key
from provisioning.errors import Problem, ProvisioningError
from provisioning.progress import Progress
from shared_crypto import SigningKey, TrustList, sign_trust_list

from .fake_backend import CANTEEN, SCHOOL, TERMINAL, FakeBackend


def enrol(
    backend: FakeBackend,
    tmp_path: Path,
    *,
    fingerprint: str | None = None,
    code: str = "ABCD-1234",
    http: httpx.Client | None = None,
    clock_skew: float = 0,
) -> tuple[DeviceConfig, str]:
    out = io.StringIO()
    cfg = enrol_terminal(
        EnrolClient(http or backend.client(), now=lambda: backend.now + clock_skew),
        server_url="https://sw.test",
        code=code,
        root_fingerprint=fingerprint if fingerprint is not None else backend.root.kid.hex(),
        data_dir=tmp_path / "data",
        config_path=tmp_path / "etc/terminal.toml",
        timezone="Asia/Almaty",
        hardware=HardwareConfig(),
        progress=Progress(5, out),
        now=lambda: backend.now + clock_skew,
    )
    return cfg, out.getvalue()


def test_enrolment_binds_pins_fetches_and_writes(tmp_path: Path) -> None:
    backend = FakeBackend()
    cfg, out = enrol(backend, tmp_path)
    saved = read_config(tmp_path / "etc/terminal.toml")
    assert saved == cfg
    assert (saved.terminal_id, saved.school_id, saved.canteen_id) == (TERMINAL, SCHOOL, CANTEEN)
    data = tmp_path / "data"
    assert (data / "root_key.pub").read_bytes() == backend.root.public.raw
    assert (data / "trust_list.cose").read_bytes() == backend.trust_list
    assert (data / "allowlist.cose").read_bytes() == backend.bundle
    key = SigningKey.load(data / "device_key.pem")
    assert stat.S_IMODE((data / "device_key.pem").stat().st_mode) == 0o600
    assert key.public in backend.devices.keys.values()
    assert "[5/5]" in out and "allowlist #17" in out
    # the private key never went over the wire
    assert all(key.seed().hex() not in r.content.decode("latin-1") for r in backend.requests)


def test_wrong_root_fingerprint_stops_before_anything_is_written(tmp_path: Path) -> None:
    backend = FakeBackend()
    with pytest.raises(ProvisioningError) as e:
        enrol(backend, tmp_path, fingerprint="00" * 8)
    assert e.value.problem is Problem.ROOT_MISMATCH and "enrolment sheet" in str(e.value)
    assert not (tmp_path / "etc/terminal.toml").exists()
    assert not (tmp_path / "data/root_key.pub").exists()


def test_used_code_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ProvisioningError) as e:
        enrol(FakeBackend(), tmp_path, code="WRONG")
    assert e.value.problem is Problem.CODE_REJECTED and "new one" in e.value.fix


def test_trust_list_not_signed_by_root_is_refused(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.trust_list_override = sign_trust_list(
        SigningKey.generate(), TrustList(9, backend.now, backend.now + 99, ())
    )
    with pytest.raises(ProvisioningError) as e:
        enrol(backend, tmp_path)
    assert e.value.problem is Problem.TRUST_LIST
    assert not (tmp_path / "etc/terminal.toml").exists()


def test_wrong_clock_is_diagnosed(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.trust_list_override = sign_trust_list(
        backend.root, TrustList(4, backend.now - 900, backend.now - 800, ())
    )
    with pytest.raises(ProvisioningError) as e:
        enrol(backend, tmp_path)
    assert e.value.problem is Problem.CLOCK and "set-ntp" in e.value.fix


def test_unreachable_server_names_the_fix(tmp_path: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.Client(base_url="https://sw.test", transport=httpx.MockTransport(down))
    with pytest.raises(ProvisioningError) as e:
        enrol(FakeBackend(), tmp_path, http=http)
    assert e.value.problem is Problem.NETWORK and "--server" in e.value.fix


def test_garbled_enrol_answer_is_bad_response(tmp_path: Path) -> None:
    http = httpx.Client(
        base_url="https://sw.test",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"terminal_id": 1})),
    )
    with pytest.raises(ProvisioningError) as e:
        enrol(FakeBackend(), tmp_path, http=http)
    assert e.value.problem is Problem.BAD_RESPONSE


def test_key_is_reused_on_re_enrolment_and_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    first, made = load_or_create_key(path)
    again, made_again = load_or_create_key(path)
    assert made and not made_again and first.public == again.public
    path.chmod(0o644)
    with pytest.raises(ProvisioningError) as e:
        load_or_create_key(path)
    assert e.value.problem is Problem.KEY and "chmod 600" in e.value.fix


def test_token_refused_for_a_wrong_clock_is_signed_again_at_server_time(tmp_path: Path) -> None:
    # the contract: a 401 NOT_YET_VALID/EXPIRED carries server_time; sign again with it and retry once
    backend = FakeBackend()
    cfg, out = enrol(backend, tmp_path, clock_skew=3600)
    assert cfg.terminal_id == TERMINAL
    fetches = [r for r in backend.requests if r.url.path.endswith(("/trust-list", "/allowlist"))]
    assert len(fetches) == 4  # each fetch: refused once, then accepted
    assert "clock is 3600 s ahead of the server's" in out and "set-ntp" in out


def test_other_401_is_not_retried_and_names_the_fix(tmp_path: Path) -> None:
    backend = FakeBackend()

    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/enrol"):
            return backend.handle(request)
        backend.requests.append(request)
        return httpx.Response(401, json={"reason": "UNKNOWN_KID", "server_time": backend.now})

    http = httpx.Client(base_url="https://sw.test", transport=httpx.MockTransport(refuse))
    with pytest.raises(ProvisioningError) as e:
        enrol(backend, tmp_path, http=http)
    assert e.value.problem is Problem.AUTH and "enrol again" in e.value.fix
    assert sum(r.url.path.endswith("/trust-list") for r in backend.requests) == 1
