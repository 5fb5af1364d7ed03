"""``probe --scan`` against lab servers restricted to given versions and suites: exact sets."""

from __future__ import annotations

import ssl
import subprocess

import pytest

from tlsdiag import codes
from tlsdiag.core.scan_policy import ScanPolicy, policy_findings
from tlsdiag.core.scan_result import ScanResult
from tlsdiag.kb.scan import groups
from tlsdiag.net.scan import scan

from helpers.scan_servers import (
    have_openssl,
    openssl_server,
    python_server,
    raw_server,
    scripted_server,
)

pytestmark = pytest.mark.integration
needs_openssl = pytest.mark.skipif(not have_openssl(), reason="openssl not installed")


def _scan(port: int, *, timeout: float = 5.0, sni: str = "scan.lab.test") -> ScanResult:
    return scan("127.0.0.1", port, sni=sni, target=f"127.0.0.1:{port}", timeout=timeout)


def test_python_tls12_only_exact_suites_in_server_order() -> None:
    ciphers = "ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA:ECDHE-RSA-CHACHA20-POLY1305"
    with python_server(
        minimum=ssl.TLSVersion.TLSv1_2, maximum=ssl.TLSVersion.TLSv1_2, ciphers=ciphers
    ) as port:
        r = _scan(port)
    d = r.to_dict()
    assert d["versions"] == ["TLSv1.2"]
    assert d["ciphers"] == {
        "TLSv1.2": [
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_RSA_WITH_AES_256_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ]
    }
    assert d["server_order"] == {"TLSv1.2": True}
    assert {"x25519", "secp256r1", "secp384r1"} <= set(d["groups"]["TLSv1.2"])
    assert r.failure is None


def test_python_default_server_tls12_and_13() -> None:
    with python_server() as port:
        r = _scan(port)
    assert r.accepted == ("TLSv1.2", "TLSv1.3")
    assert set(r.suites_for("TLSv1.3")) == {
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_GCM_SHA256",
    }
    v13 = next(v for v in r.versions if v.version == "TLSv1.3")
    assert "x25519" in v13.groups and "secp256r1" in v13.groups
    assert policy_findings(r, ScanPolicy("the policy")) == []


def _s_client_group(port: int, group: str) -> bool | None:
    """Does a TLS 1.3 handshake with only ``group`` offered succeed? None: this openssl cannot
    offer the group (it does not know it)."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "scan.lab.test"]
    args += ["-tls1_3", "-groups", group, "-brief"]
    out = subprocess.run(
        args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20, check=False
    )
    text = out.stdout + out.stderr
    if "CONNECTED(" not in text and "CONNECTION ESTABLISHED" not in text:
        return None  # refused the option before connecting
    return out.returncode == 0 and "CONNECTION ESTABLISHED" in text


@needs_openssl
def test_scan_groups_agree_with_openssl_on_pythons_own_defaults() -> None:
    """The groups a default Python server accepts are its libssl's (OpenSSL 3.0 and 3.5 differ:
    3.5 adds X25519MLKEM768 and drops ffdhe4096 and larger); whatever they are, ``openssl
    s_client`` offering one group at a time must agree with the scan on every group it knows."""
    names = [g.name for g in groups().values() if g.tls13]
    with python_server() as port:
        found = set(_scan(port).to_dict()["groups"]["TLSv1.3"])
        client = {name: _s_client_group(port, name) for name in names}
    known = {name for name, ok in client.items() if ok is not None}
    assert {"x25519", "secp256r1", "secp384r1", "ffdhe2048"} <= known, client
    assert {name for name in known if client[name]} == found & known, (found, client)
    assert {"x25519", "secp256r1"} <= found


def test_python_tls10_only_names_the_version() -> None:
    with python_server(
        minimum=ssl.TLSVersion.TLSv1,
        maximum=ssl.TLSVersion.TLSv1,
        ciphers="AES128-SHA:ECDHE-RSA-AES256-SHA:@SECLEVEL=0",
    ) as port:
        r = _scan(port)
    assert r.accepted == ("TLSv1.0",)
    assert r.suites_for("TLSv1.0") == (
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    )
    (f,) = policy_findings(r, ScanPolicy("the policy", min_version="TLSv1.2"))
    assert f.code == codes.LEGACY_PROTOCOL_VERSION
    assert f.title == "The server speaks only TLS 1.0"
    assert f.evidence["missing_versions"] == "TLSv1.2, TLSv1.3"
    # negative control: a policy that allows TLS 1.0 connects
    assert policy_findings(r, ScanPolicy("old", min_version="TLSv1.0")) == []


@needs_openssl
def test_openssl_tls13_suites_and_groups_exact() -> None:
    args = ["-tls1_3", "-serverpref", "-groups", "X25519:P-384"]
    args += ["-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"]
    with openssl_server(args) as port:
        r = _scan(port)
    d = r.to_dict()
    assert d["versions"] == ["TLSv1.3"]
    assert d["ciphers"]["TLSv1.3"] == [
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_GCM_SHA256",
    ]
    assert d["server_order"]["TLSv1.3"] is True
    assert d["groups"]["TLSv1.3"] == ["x25519", "secp384r1"]


@needs_openssl
def test_openssl_tls11_client_order_is_detected() -> None:
    # s_server without -serverpref follows the client's order
    args = ["-tls1_1", "-cipher", "AES256-SHA:ECDHE-RSA-AES128-SHA:DHE-RSA-AES256-SHA:@SECLEVEL=0"]
    with openssl_server(args) as port:
        r = _scan(port)
    assert r.accepted == ("TLSv1.1",)
    assert set(r.suites_for("TLSv1.1")) == {
        "TLS_RSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    }
    v = next(v for v in r.versions if v.version == "TLSv1.1")
    assert v.server_order is False


@needs_openssl
def test_openssl_tls12_groups_exact() -> None:
    args = ["-tls1_2", "-serverpref", "-groups", "P-256:P-521"]
    args += ["-cipher", "ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-SHA"]
    with openssl_server(args) as port:
        r = _scan(port)
    d = r.to_dict()
    assert d["ciphers"] == {
        "TLSv1.2": ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"]
    }
    assert d["groups"]["TLSv1.2"] == ["secp256r1", "secp521r1"]


def test_ssl3_only_server_with_rc4_and_3des() -> None:
    # OpenSSL 3 can neither serve nor speak SSL 3.0: a scripted server answers from a table
    with scripted_server(0x0300, [0x0005, 0x000A]) as port:
        r = _scan(port)
    assert r.accepted == ("SSLv3",)
    assert r.suites_for("SSLv3") == ("TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA")
    (f,) = policy_findings(r, ScanPolicy("the policy"))
    assert f.title == "The server speaks only SSL 3.0"


def test_garbage_answer_is_not_tls() -> None:
    with raw_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") as port:
        r = _scan(port)
    assert r.accepted == ()
    assert r.failure is not None and r.failure.code == codes.NETWORK_NOT_TLS
    assert "HTTP/1.1 400" in r.failure.detail
    assert r.probes == 5  # one ClientHello per version, nothing more
    (f,) = policy_findings(r, ScanPolicy("the policy"))
    assert f.code == codes.NETWORK_NOT_TLS


def test_reset_after_client_hello() -> None:
    with raw_server(None, reset=True) as port:
        r = _scan(port)
    assert r.failure is not None and r.failure.code == codes.NETWORK_RESET
    assert "reset" in r.failure.message
    assert r.probes == 5


def test_stalling_server_is_bounded_by_the_timeout() -> None:
    with raw_server(None) as port:
        r = _scan(port, timeout=0.5)
    # a server that accepts and never answers is a timeout, not a reset (issue 11)
    assert r.failure is not None and r.failure.code == codes.NETWORK_TIMEOUT
    assert "did not answer any ClientHello within 0.5s" in r.failure.message
    assert r.probes == 5  # the five version probes run together: one timeout, not five


def test_alert_to_everything_is_a_finding() -> None:
    from helpers.scan_servers import alert

    with raw_server(alert(40)) as port:
        r = _scan(port)
    assert r.failure is None and r.accepted == ()
    (f,) = policy_findings(r, ScanPolicy("the policy"))
    assert f.code == codes.LEGACY_CIPHER_SUITE
