"""Fake machines for the trust-store tests: a home directory, a filesystem root with a
distribution's CA layout, a certifi-like bundle and an empty PATH, all in a temporary
directory. Stores are then pointed at through the same env vars and config files the tools
read. Nothing here looks at the real machine's environment."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from tlsdiag.core.certbuild import Issued
from tlsdiag.facts.ids import Platform
from tlsdiag.lab.pki import make_ca
from tlsdiag.stores.context import StoreContext

NOW = datetime.now(UTC)

# Every variable a store of the catalogue reads. The engine gets an explicit environment in these
# tests anyway; clearing them too makes sure nothing falls back to the machine's own values.
OVERRIDES = (
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT",
    "PIP_CONFIG_FILE", "NODE_EXTRA_CA_CERTS", "NODE_USE_SYSTEM_CA", "NODE_OPTIONS",
    "GIT_SSL_CAINFO", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "AWS_CA_BUNDLE",
    "AWS_CONFIG_FILE", "AWS_PROFILE", "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE", "CLOUDSDK_CONFIG",
    "CONDA_SSL_VERIFY", "CONDARC", "JAVA_HOME", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS",
    "_JAVA_OPTIONS", "NIX_SSL_CERT_FILE", "npm_config_cafile", "NPM_CONFIG_USERCONFIG",
    "YARN_HTTPS_CA_FILE_PATH", "CURL_HOME", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_trust_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Import into a test module to clear the trust overrides of the machine running it."""
    for name in OVERRIDES:
        monkeypatch.delenv(name, raising=False)


def ca(cn: str, **kw: Any) -> Issued:
    """A root CA (EC P-256, valid 10 years unless told otherwise)."""
    kw.setdefault("org", "Trust Test")
    return make_ca(cn, now=NOW, **kw)


@cache
def public_roots() -> tuple[Issued, ...]:
    """Two roots playing the public root program (certifi)."""
    return (ca("Public Root One", org="Public CA"), ca("Public Root Two", org="Public CA"))


def pem(*issued: Issued) -> bytes:
    return b"".join(i.cert_pem for i in issued)


def der(issued: Issued) -> bytes:
    return issued.cert.public_bytes(serialization.Encoding.DER)


def pkcs12_truststore(path: Path, certs: Mapping[str, Issued], password: bytes | None) -> Path:
    """A Java-style PKCS#12 truststore (trusted-certificate entries only) made with
    cryptography, like a JDK >= 18 cacerts (password-less) or a classic ``changeit`` one."""
    entries = [
        pkcs12.PKCS12Certificate(issued.cert, alias.encode()) for alias, issued in certs.items()
    ]
    enc = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path.write_bytes(pkcs12.serialize_java_truststore(entries, enc))
    return path


@dataclass
class FakeMachine:
    base: Path
    home: Path
    root: Path
    bin: Path
    certifi: Path
    env: dict[str, str] = field(default_factory=dict)

    def path(self, rel: str) -> Path:
        """``/etc/x`` under the fake root, ``~/x`` under the home, else under ``base``."""
        if rel.startswith("/"):
            return self.root / rel.lstrip("/")
        if rel.startswith("~/"):
            return self.home / rel[2:]
        return self.base / rel

    def write(self, rel: str, data: bytes | str) -> Path:
        path = self.path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        return path

    def command(self, name: str, output: str = "", code: int = 0) -> Path:
        """A fake program on PATH that prints ``output``."""
        script = self.bin / name
        body = output.replace("'", "'\\''")
        script.write_text(f"#!/bin/sh\nprintf '%s\\n' '{body}'\nexit {code}\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return script

    def os_bundle(self, *extra: Issued) -> Path:
        """The Debian bundle: the public roots plus ``extra``."""
        return self.write("/etc/ssl/certs/ca-certificates.crt", pem(*public_roots(), *extra))

    def context(self, platform: Platform = Platform.LINUX, **kw: Any) -> StoreContext:
        kw.setdefault("certifi_path", str(self.certifi))
        kw.setdefault("openssl_cafile", str(self.path("/usr/lib/ssl/cert.pem")))
        kw.setdefault("openssl_capath", str(self.path("/usr/lib/ssl/certs")))
        return StoreContext(
            env=dict(self.env), home=self.home, platform=platform, fs_root=self.root, **kw
        )


def make_machine(base: Path, *, distro: str = "debian") -> FakeMachine:
    """A Debian-like machine whose OS store and certifi hold only the public roots."""
    home = base / "home"
    root = base / "root"
    bindir = base / "bin"
    for d in (home, root, bindir):
        d.mkdir(parents=True, exist_ok=True)
    certifi = base / "certifi" / "cacert.pem"
    certifi.parent.mkdir()
    certifi.write_bytes(pem(*public_roots()))
    machine = FakeMachine(
        base=base,
        home=home,
        root=root,
        bin=bindir,
        certifi=certifi,
        env={"PATH": str(bindir), "HOME": str(home)},
    )
    machine.write("/etc/os-release", f'ID={distro}\nPRETTY_NAME="{distro} (test)"\n')
    if distro == "debian":
        bundle = machine.os_bundle()
        machine.write("/etc/ca-certificates.conf", "")
        (root / "usr/local/share/ca-certificates").mkdir(parents=True)
        (root / "usr/lib/ssl").mkdir(parents=True)
        os.symlink(bundle, root / "usr/lib/ssl/cert.pem")
    return machine


def rows_by_id(report_or_rows: Any) -> dict[str, dict[str, Any]]:
    """``stores`` rows keyed by id (first instance)."""
    rows = report_or_rows.facts["stores"] if hasattr(report_or_rows, "facts") else report_or_rows
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        row = row if isinstance(row, dict) else row.to_dict()
        out.setdefault(row["id"], row)
    return out
