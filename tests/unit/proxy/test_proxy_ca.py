"""The local CA: platform config dirs, creation (0600 key, no overwrite), constraints, loading."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tlsdiag.errors import InputError, ProxyError, UsageError
from tlsdiag.proxy.ca import (
    CaPaths,
    config_dir,
    create_ca,
    init_ca,
    load_ca,
    name_permitted,
    permitted_domains,
)


def test_config_dir_per_platform() -> None:
    env = {"HOME": "/home/u"}
    assert config_dir(env, "linux") == Path("/home/u/.config/tlsdiag")
    assert config_dir({**env, "XDG_CONFIG_HOME": "/x"}, "linux") == Path("/x/tlsdiag")
    assert config_dir(env, "darwin") == Path("/home/u/Library/Application Support/tlsdiag")
    assert (
        config_dir({"APPDATA": r"C:\Users\u\AppData\Roaming"}, "win32")
        == Path(r"C:\Users\u\AppData\Roaming") / "tlsdiag"
    )
    assert config_dir({**env, "TLSDIAG_HOME": "/t"}, "linux") == Path("/t")


def test_ca_certificate_profile() -> None:
    now = datetime.now(UTC)
    cert, key = create_ca(now=now, machine="box")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert "tlsdiag" in cn and "box" in cn and f"{now:%Y-%m-%d}" in cn
    assert 364 <= (cert.not_valid_after_utc - now).days <= 365
    assert permitted_domains(cert) == ()


def test_permit_adds_name_constraints() -> None:
    cert, _ = create_ca(now=datetime.now(UTC), machine="m", permit=["Example.com", "*.lab.test"])
    nc = cert.extensions.get_extension_for_class(x509.NameConstraints)
    assert nc.critical
    assert permitted_domains(cert) == ("example.com", "lab.test")
    assert name_permitted(permitted_domains(cert), "www.example.com")
    assert not name_permitted(permitted_domains(cert), "example.org")
    with pytest.raises(ValueError):
        create_ca(now=datetime.now(UTC), machine="m", permit=["bad name"])


def test_init_writes_key_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    d = tmp_path / "home"
    old_umask = os.umask(0)  # even with a permissive umask the key must be private
    try:
        ca = init_ca(d)
    finally:
        os.umask(old_umask)
    mode = stat.S_IMODE(ca.paths.key.stat().st_mode)
    assert mode == 0o600
    before = ca.paths.key.read_bytes()
    with pytest.raises(UsageError) as info:
        init_ca(d)
    assert "already exists" in info.value.message
    assert ca.paths.key.read_bytes() == before
    again = init_ca(d, force=True)
    assert ca.paths.key.read_bytes() != before
    assert load_ca(again.paths).cert == again.cert


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ProxyError) as info:
        load_ca(CaPaths.in_dir(tmp_path / "none"))
    assert "tlsdiag ca init" in (info.value.hint or "")
    a = init_ca(tmp_path / "a")
    b = init_ca(tmp_path / "b")
    with pytest.raises(InputError, match="does not match"):
        load_ca(CaPaths(a.paths.cert, b.paths.key))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a cert")
    with pytest.raises(InputError):
        load_ca(CaPaths(junk, a.paths.key))


def test_ca_files_under_umask_000_key_0600_cert_0644_folder_0700(tmp_path: Path) -> None:
    d = tmp_path / "ca"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    old_umask = os.umask(0)
    try:
        ca = init_ca(d)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(ca.paths.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(ca.paths.cert.stat().st_mode) == 0o644
    assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_a_dangling_symlink_at_the_key_path_is_refused_not_followed(tmp_path: Path) -> None:
    d = tmp_path / "ca"
    d.mkdir()
    target = tmp_path / "elsewhere.pem"
    (d / CaPaths.in_dir(d).key.name).symlink_to(target)
    with pytest.raises(UsageError, match="already exists"):
        init_ca(d)
    assert not target.exists()
    ca = init_ca(d, force=True)  # --force replaces the link itself, never writes through it
    assert not target.exists() and not ca.paths.key.is_symlink()


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    ca = init_ca(tmp_path / "ca")
    os.chmod(ca.paths.key, 0o644)
    with pytest.raises(InputError, match="other users") as info:
        load_ca(ca.paths)
    assert "chmod 600" in (info.value.hint or "")
