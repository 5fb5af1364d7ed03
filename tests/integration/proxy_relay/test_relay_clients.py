"""Real clients (curl, openssl s_client, httpx, Python ssl) through the proxy to local servers.

Upstream problems come from the lab (expired, wrong host, untrusted root, incomplete chain, TLS
1.0 only, client certificate required ...); bodies and keep-alive from a trustme origin (the rig:
tests/helpers/relay_rig.py and conftest.py here).
"""

from __future__ import annotations

import hashlib
import shutil
import ssl
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from tlsdiag import codes
from tlsdiag.lab.cases import Lab
from tlsdiag.proxy.listener import ResolveTo
from tlsdiag.proxy.policy import InvalidCert, MutualTls, default_policy, parse_policy

from helpers.relay_rig import (
    BIG,
    ENV,
    Origin,
    ProxyFactory,
    curl_case,
    curl_via,
    event_for,
    events_of,
    issuer_cn,
    pattern,
    status_of,
    tls_tunnel,
    tunnel_peer,
)

pytestmark = pytest.mark.integration

# --- the good path -------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_sees_tlsdiag_issuer_and_gets_content(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy()
    case = lab.cases["good"]
    r = curl_case(p, case, pki["ca"].paths.cert, "-v")
    assert status_of(r) == "200", r.stderr
    assert (
        "issuer: O=tlsdiag; CN=tlsdiag inspection CA" in r.stderr
        or "tlsdiag inspection CA" in r.stderr
    )
    ev = event_for(p, case.spec.host)
    assert ev["action"] == "inspect" and ev["tls_inspection"] == 1
    assert ev["verification"] == "ok" and ev["finding"] == ""
    assert (
        ev["issuer"].endswith("CN=Lab Test Intermediate CA")
        or "Lab Test Intermediate" in ev["issuer"]
    )
    assert ev["upstream_version"] in ("TLSv1.2", "TLSv1.3") and ev["cipher"]
    assert ev["alpn"] == "http/1.1" and "h2" in ev["client_alpn"]
    assert ev["client_handshake"] == "ok" and ev["bytes_down"] > 0 and ev["bytes_up"] > 0


def test_python_client_sees_forged_names(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy()
    case = lab.cases["good"]
    cert = tunnel_peer(p, case.spec.host, case.port, pki["ca"].paths.cert)
    assert issuer_cn(cert).startswith("tlsdiag inspection CA")
    assert ("DNS", case.spec.host) in cert["subjectAltName"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_multi_megabyte_body_intact_with_curl(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin, tmp_path: Path
) -> None:
    p = start_proxy()
    out = tmp_path / "big.bin"
    r = subprocess.run(
        [
            "curl",
            "-sS",
            "-m",
            "30",
            "-x",
            p.url,
            "--cacert",
            str(pki["ca"].paths.cert),
            "-o",
            str(out),
            f"https://origin.test:{origin.port}/big",
        ],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == pattern(BIG)
    ev = event_for(p, "origin.test")
    assert ev["bytes_down"] > BIG


def test_httpx_keepalive_upload_and_download(
    start_proxy: ProxyFactory, pki: dict[str, Any], origin: Origin
) -> None:
    p = start_proxy()
    ctx = ssl.create_default_context(cafile=str(pki["ca"].paths.cert))
    upload = pattern(2 * 1024 * 1024 + 5)
    with httpx.Client(proxy=p.url, verify=ctx, timeout=20) as client:
        base = f"https://origin.test:{origin.port}"
        for _ in range(5):
            assert client.get(f"{base}/small").text == "origin says hello\n"
        assert client.get(f"{base}/big").content == pattern(BIG)
        r = client.post(f"{base}/echo", content=upload)
        assert r.text == hashlib.sha256(upload).hexdigest()
    events = events_of(p, 1)
    assert len(events) == 1  # one tunnel carried all the requests
    assert events[0]["bytes_up"] > len(upload)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_s_client_through_proxy(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy()
    case = lab.cases["good"]
    r = subprocess.run(
        [
            "openssl",
            "s_client",
            "-proxy",
            f"127.0.0.1:{p.port}",
            "-connect",
            case.target,
            "-servername",
            case.spec.host,
            "-CAfile",
            str(pki["ca"].paths.cert),
            "-verify_return_error",
            "-ign_eof",
        ],
        input=f"GET / HTTP/1.1\r\nHost: {case.spec.host}\r\nConnection: close\r\n\r\n",
        env=ENV,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "Verify return code: 0 (ok)" in r.stdout, r.stdout + r.stderr
    assert "tlsdiag inspection CA" in r.stdout
    assert "tlsdiag lab" in r.stdout  # the lab's body came through


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
@pytest.mark.parametrize("native", [True, False], ids=["native", "context"])
@pytest.mark.parametrize(
    "offered",
    [
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384",
    ],
)
def test_the_clients_cipher_preference_decides(
    native: bool, offered: str, start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    """A client gets its own first choice of TLS 1.3 suite from the proxy (as browsers do
    from servers with Mozilla's intermediate profile), not the server-side default order."""
    p = start_proxy(native_certs=native)
    case = lab.cases["good"]
    cmd = ["openssl", "s_client", "-proxy", f"127.0.0.1:{p.port}", "-connect", case.target]
    cmd += ["-servername", case.spec.host, "-CAfile", str(pki["ca"].paths.cert)]
    cmd += ["-verify_return_error", "-tls1_3", "-ciphersuites", offered]
    r = subprocess.run(
        cmd,
        input="",
        env=ENV,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "Verify return code: 0 (ok)" in r.stdout, r.stdout + r.stderr
    assert f"Cipher is {offered.split(':')[0]}" in r.stdout, r.stdout


# --- policy actions --------------------------------------------------------------------------


BLOCKED = {
    "expired": (codes.SERVER_CERT_EXPIRED, "certificate has expired", "certificate expired"),
    "wrong-host": (codes.SERVER_HOSTNAME_MISMATCH, "hostname mismatch", "bad certificate"),
    "untrusted-root": (
        codes.SERVER_UNTRUSTED_ROOT,
        "self-signed certificate in certificate chain",
        "unknown ca",
    ),
    "incomplete-chain": (
        codes.SERVER_CHAIN_INCOMPLETE,
        "unable to get local issuer certificate",
        "unknown ca",
    ),
    "self-signed": (codes.SERVER_SELF_SIGNED, "self-signed certificate", "unknown ca"),
}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("name", sorted(BLOCKED))
def test_invalid_server_certificates_are_blocked(
    name: str, start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    code, cert_error, alert = BLOCKED[name]
    p = start_proxy()
    case = lab.cases[name]
    r = curl_case(p, case, pki["ca"].paths.cert)
    assert status_of(r) == "403", r.stderr
    assert f"x-tlsdiag-finding: {code}" in r.stdout.lower()
    ev = event_for(p, case.spec.host)
    assert ev["action"] == "block" and ev["finding"] == code and ev["http_status"] == 403
    assert cert_error in ev["tls_certificate_error"]
    assert ev["tls_error_description"] == alert and ev["tls_error_type"] == "fatal"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("name", sorted(BLOCKED))
def test_allow_resigns_invalid_certificates_and_masks_the_error(
    name: str, start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(replace(default_policy(), invalid_certificate=InvalidCert.ALLOW))
    case = lab.cases[name]
    r = curl_case(p, case, pki["ca"].paths.cert)
    assert status_of(r) == "200", r.stderr  # the client sees no error at all
    ev = event_for(p, case.spec.host)
    assert ev["action"] == "inspect" and ev["finding"] == BLOCKED[name][0]
    assert "re-signed as valid" in ev["detail"]


MIMIC_CURL = {
    "expired": "certificate has expired",
    "wrong-host": "no alternative certificate subject name matches",
    "untrusted-root": "unable to get local issuer certificate",
    "incomplete-chain": "unable to get local issuer certificate",
    "self-signed": "self-signed certificate",
}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("name", sorted(MIMIC_CURL))
def test_mimic_reproduces_the_server_error_for_the_client(
    name: str, start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(replace(default_policy(), invalid_certificate=InvalidCert.MIMIC))
    case = lab.cases[name]
    r = curl_case(p, case, pki["ca"].paths.cert)
    assert r.returncode == 60, r.stderr
    assert MIMIC_CURL[name] in r.stderr
    ev = event_for(p, case.spec.host)
    assert ev["finding"] == BLOCKED[name][0] and ev["action"] == "inspect"
    assert ev["forged"] == {
        "untrusted-root": "untrusted",
        "incomplete-chain": "untrusted",
        "self-signed": "self",
    }.get(name, "trusted")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_tls10_upstream_under_tls12_minimum_is_legacy_protocol(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy()
    case = lab.cases["tls10"]
    r = curl_case(p, case, pki["ca"].paths.cert)
    assert status_of(r) == "403"
    assert f"x-tlsdiag-finding: {codes.LEGACY_PROTOCOL_VERSION}" in r.stdout.lower()
    ev = event_for(p, case.spec.host)
    assert ev["finding"] == codes.LEGACY_PROTOCOL_VERSION
    assert ev["tls_error_description"] and ev["tls_error_side"] == "server"


def test_mutual_tls_upstream_is_reported_and_bypassed(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy()
    case = lab.cases["client-cert"]
    # Bypassed: the client talks to the server itself and sees the lab's own issuer.
    with tls_tunnel(p.port, case.spec.host, case.port, lab.root_pem_path) as tls:
        cert = tls.getpeercert()
        assert cert is not None and issuer_cn(dict(cert)) == "Lab Test Intermediate CA"
        with pytest.raises((ssl.SSLError, OSError)):
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert tls.recv(100)  # the server wants a certificate we do not have
    ev = event_for(p, case.spec.host)
    assert ev["finding"] == codes.APP_MUTUAL_TLS and ev["action"] == "bypass"
    assert ev["tls_inspection"] == 0 and "mutual TLS: cannot inspect" in ev["detail"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_mutual_tls_blocked_by_policy(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(replace(default_policy(), mutual_tls=MutualTls.BLOCK))
    case = lab.cases["client-cert"]
    r = curl_case(p, case, pki["ca"].paths.cert)
    assert status_of(r) == "403"
    assert f"x-tlsdiag-finding: {codes.APP_MUTUAL_TLS}" in r.stdout.lower()


def test_bypass_rule_gives_the_original_issuer(start_proxy: ProxyFactory, lab: Lab) -> None:
    pol = parse_policy('[[rule]]\nid = "lab"\nhost = ".lab.test"\naction = "bypass"\n')
    p = start_proxy(pol)
    case = lab.cases["good"]
    cert = tunnel_peer(p, case.spec.host, case.port, lab.root_pem_path)
    assert issuer_cn(cert) == "Lab Test Intermediate CA"
    ev = event_for(p, case.spec.host)
    assert (ev["action"], ev["rule"], ev["tls_inspection"]) == ("bypass", "lab", 0)
    assert ev["verification"] == "" and ev["bytes_down"] > 0


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_block_rule_serves_block_page(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    pol = parse_policy('[[rule]]\nid = "no-good"\nhost = "good.lab.test"\naction = "block"\n')
    p = start_proxy(pol)
    case = lab.cases["good"]
    r = curl_case(p, case, pki["ca"].paths.cert, body=True)
    assert "HTTP/1.1 403 Forbidden" in r.stdout
    assert "x-tlsdiag-finding: policy.blocked" in r.stdout.lower()
    assert "rule &#x27;no-good&#x27; blocks good.lab.test" in r.stdout
    ev = event_for(p, case.spec.host)
    assert (ev["action"], ev["rule"], ev["finding"]) == ("block", "no-good", codes.POLICY_BLOCKED)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_client_without_the_ca_is_classified(
    start_proxy: ProxyFactory, lab: Lab, tmp_path: Path
) -> None:
    p = start_proxy()
    case = lab.cases["good"]
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))  # trusts something else, not our CA
    r = curl_case(p, case, other)
    assert r.returncode == 60
    ev = event_for(p, case.spec.host)
    assert ev["finding"] == codes.CLIENT_ROOT_NOT_TRUSTED
    assert ev["tls_error_description"] == "unknown ca" and ev["tls_error_side"] == "client"
    assert ev["client_handshake"] == "failed"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_plain_http_absolute_uri(start_proxy: ProxyFactory, plain_origin: Origin) -> None:
    pol = parse_policy('[[rule]]\nid = "deny"\nhost = "blocked.test"\naction = "block"\n')
    p = start_proxy(
        pol,
        resolve=(
            ResolveTo("plain.test", plain_origin.port, ("127.0.0.1",)),
            ResolveTo("blocked.test", plain_origin.port, ("127.0.0.1",)),
        ),
    )
    r = subprocess.run(
        ["curl", "-sS", "-m", "10", "-x", p.url, f"http://plain.test:{plain_origin.port}/x"],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert r.stdout == "origin says hello\n", r.stderr
    r = curl_via(p, f"http://blocked.test:{plain_origin.port}/x", None)
    assert status_of(r) == "403" and "x-tlsdiag-finding: policy.blocked" in r.stdout.lower()
    ev = event_for(p, "plain.test")
    assert (ev["kind"], ev["action"], ev["tls_inspection"]) == ("http", "inspect", 0)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_unreachable_and_not_tls_servers(
    start_proxy: ProxyFactory, pki: dict[str, Any], lab: Lab
) -> None:
    p = start_proxy(
        resolve=(
            ResolveTo("down.test", 9, ("127.0.0.1",)),
            *[ResolveTo(c.spec.host, c.port, ("127.0.0.1",)) for c in lab.cases.values()],
        )
    )
    r = curl_via(p, "https://down.test:9/", pki["ca"].paths.cert)
    assert status_of(r) == "403" and codes.NETWORK_CONNECT_FAILED in r.stdout
    for name, code in (("not-tls", codes.NETWORK_NOT_TLS), ("reset", codes.NETWORK_RESET)):
        r = curl_via(p, f"https://{lab.cases[name].target}/", pki["ca"].paths.cert)
        assert status_of(r) == "403" and code in r.stdout, (name, r.stdout)
