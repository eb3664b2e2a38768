from dataclasses import replace
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from device.config import DeviceConfig, Rules, load_config
from device.hw.camera import PiCamera
from device.hw.config import HardwareConfig, build
from device.hw.decoders import DecoderName
from device.sim.indicator import PrintingIndicator
from device.terminal import Terminal
from provisioning.config import config_toml, read_config, write_config
from provisioning.errors import Problem, ProvisioningError

from .fake_backend import FakeBackend
from .test_enrol import enrol

CFG = DeviceConfig(
    server_url="https://sw.test",
    terminal_id=1234,
    school_id=41,
    canteen_id=7,
    data_dir=Path("/var/lib/school-meals"),
    key_file=Path("/var/lib/school-meals/device_key.pem"),
    root_key_file=Path("/var/lib/school-meals/root_key.pub"),
    timezone="Asia/Almaty",
    hardware=HardwareConfig(nfc_bus="spi", decoder="zbar"),
)


def test_what_provisioning_writes_is_what_the_terminal_core_reads(tmp_path: Path) -> None:
    tuned = replace(CFG, rules=Rules(stale_grace_hours=6.0, rtc=True))
    for cfg in (CFG, tuned):
        write_config(tmp_path / "terminal.toml", cfg)
        assert load_config(tmp_path / "terminal.toml") == cfg  # the core's own parser
    text = config_toml(CFG)
    assert "[rules]" not in text  # defaults are not written, so a new default reaches old terminals
    assert 'nfc_bus = "spi"' in text and "led_gpio = 17" in text  # every pin, spelled out


def test_re_enrolment_keeps_tuned_rules(tmp_path: Path) -> None:
    backend = FakeBackend()
    enrol(backend, tmp_path)
    path = tmp_path / "etc/terminal.toml"
    write_config(path, replace(read_config(path), rules=Rules(stale_grace_hours=3.0)))
    backend.codes.add("EFGH-5678")
    cfg, _ = enrol(backend, tmp_path, code="EFGH-5678")
    assert read_config(path).rules == Rules(stale_grace_hours=3.0) == cfg.rules


def test_broken_config_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "terminal.toml"
    path.write_text(config_toml(CFG).replace("led_gpio = 17", "led_gpio = 99"))
    with pytest.raises(ProvisioningError) as e:
        read_config(path)
    assert e.value.problem is Problem.CONFIG and "[hardware]" in e.value.what and "enrol" in e.value.fix


def test_enrolled_config_builds_the_real_drivers_the_core_runs(tmp_path: Path) -> None:
    # what `python -m device run` does with the file: load_config, then device.hw.config.build
    enrol(FakeBackend(), tmp_path)
    cfg = load_config(tmp_path / "etc/terminal.toml")
    assert cfg.hardware is not None
    previous, Device.pin_factory = Device.pin_factory, MockFactory()
    try:
        hw = build(cfg.hardware)
        try:
            assert isinstance(hw.camera, PiCamera) and hw.decoder.name is DecoderName.ZXING
            assert Device.pin_factory.pin(17).function == "output"  # the LED, on the configured line
            assert hw.nfc.fault is None  # nothing touched until the first poll
        finally:
            hw.indicator.close()
    finally:
        Device.pin_factory.reset()
        Device.pin_factory = previous


def test_the_terminal_core_starts_from_what_enrolment_left(tmp_path: Path) -> None:
    backend = FakeBackend()
    enrol(backend, tmp_path)
    shown: list[str] = []
    terminal = Terminal.from_config(
        load_config(tmp_path / "etc/terminal.toml"), indicator=PrintingIndicator(shown.append)
    )
    try:
        assert terminal.store.bundle is not None and terminal.store.bundle.sequence == 17
        assert "NO_ALLOWLIST" not in terminal.faults()
    finally:
        terminal.close()
