"""The scan knowledge bases load, are consistent and name their sources."""

from __future__ import annotations

import ssl

import pytest

from tlsdiag.kb import scan as kb_scan


def test_suites_are_unique_and_typed() -> None:
    table = kb_scan.suites()
    assert len(table) > 150
    assert len({s.code for s in table.values()}) == len(table)
    assert table["TLS_AES_128_GCM_SHA256"].tls13
    s = table["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
    assert s.ecdhe and s.forward_secrecy and s.aead and s.usable_with("TLSv1.2")
    assert not s.usable_with("TLSv1.1") and not s.usable_with("TLSv1.3")
    assert table["TLS_RSA_WITH_RC4_128_SHA"].usable_with("SSLv3")


def test_levels() -> None:
    levels, table = kb_scan.cipher_levels(), kb_scan.suites()
    assert set(levels) == {"strong", "medium", "weak"}
    gcm, cbc = table["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"], table["TLS_RSA_WITH_AES_128_CBC_SHA"]
    rc4 = table["TLS_RSA_WITH_RC4_128_SHA"]
    assert levels["strong"].allows(gcm) and not levels["strong"].allows(cbc)
    assert levels["medium"].allows(cbc) and not levels["medium"].allows(rc4)
    assert levels["weak"].allows(rc4) and not levels["weak"].allows(table["TLS_RSA_WITH_NULL_SHA"])


def test_client_profiles_name_known_suites_and_sources() -> None:
    profiles = kb_scan.client_profiles()
    ids = {p.id for p in profiles}
    assert {"chrome", "firefox", "java8", "java11", "java17", "python-openssl3"} <= ids
    assert {"schannel-win7", "schannel-win81", "schannel-win10", "schannel-win11"} <= ids
    for p in profiles:
        assert p.sources and p.versions and p.suites and p.groups
        assert len(set(p.suites)) == len(p.suites)


@pytest.mark.skipif(ssl.OPENSSL_VERSION_INFO < (3,), reason="the profile describes OpenSSL 3")
def test_python_profile_matches_this_python() -> None:
    ctx = ssl.create_default_context()
    by_openssl = {s.openssl: s.name for s in kb_scan.suites().values()}
    here = [by_openssl.get(c["name"], c["name"]) for c in ctx.get_ciphers()]
    profile = next(p for p in kb_scan.client_profiles() if p.id == "python-openssl3")
    assert set(here) == set(profile.suites)
