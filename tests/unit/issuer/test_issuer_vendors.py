"""The vendor database: schema, and every vendor's patterns against a realistic issuer DN."""

from __future__ import annotations

import copy
import tomllib
from importlib.resources import files
from typing import Any

import pytest

from tlsdiag.core.issuer.vendor_match import match_name
from tlsdiag.kb.vendors import KINDS, PLATFORMS, parse_vendor, public_issuers, vendors

from helpers.issuer_chains import name_from_dn

REQUIRED = {
    "cato",
    "zscaler",
    "netskope",
    "palo-alto",
    "fortinet",
    "check-point",
    "sophos",
    "forcepoint",
    "cisco-umbrella",
    "symantec-bluecoat",
    "mcafee-skyhigh",
    "cloudflare",
    "iboss",
    "menlo",
    "barracuda",
    "sonicwall",
    "trend-micro",
    "kaspersky",
    "eset",
    "avast-avg",
    "bitdefender",
    "fiddler",
    "charles",
    "burp",
    "mitmproxy",
    "tlsdiag",
}

# Real issuers of public CAs: no vendor pattern may claim them (anchoring and specificity).
PUBLIC_ISSUERS = [
    "CN=R11,O=Let's Encrypt,C=US",
    "CN=E6,O=Let's Encrypt,C=US",
    "CN=WR2,O=Google Trust Services,C=US",
    "CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1,O=DigiCert Inc,C=US",
    "CN=Sectigo RSA Domain Validation Secure Server CA,O=Sectigo Limited,L=Salford,"
    "ST=Greater Manchester,C=GB",
    "CN=Cloudflare Inc ECC CA-3,O=Cloudflare\\, Inc.,C=US",
    "CN=Amazon RSA 2048 M02,O=Amazon,C=US",
    "CN=GlobalSign GCC R6 AlphaSSL CA 2023,O=GlobalSign nv-sa,C=BE",
    "CN=Microsoft Azure RSA TLS Issuing CA 04,O=Microsoft Corporation,C=US",
    "CN=Go Daddy Secure Certificate Authority - G2,OU=http://certs.godaddy.com/repository/,"
    "O=GoDaddy.com\\, Inc.,L=Scottsdale,ST=Arizona,C=US",
    "CN=ISRG Root X1,O=Internet Security Research Group,C=US",
    "CN=Acme Corp Issuing CA 01,DC=acme,DC=corp",
]


def raw_entries() -> list[dict[str, Any]]:
    text = files("tlsdiag.data").joinpath("vendors.toml").read_text(encoding="utf-8")
    entries: list[dict[str, Any]] = tomllib.loads(text)["vendor"]
    return entries


def test_file_loads_with_unique_ids_and_covers_the_required_products():
    ids = [v.id for v in vendors()]
    assert len(ids) == len(set(ids))
    missing = REQUIRED - set(ids)
    assert not missing, f"vendors.toml lacks {sorted(missing)}"


@pytest.mark.parametrize("vendor", vendors(), ids=lambda v: v.id)
def test_entry_is_complete(vendor):
    assert vendor.kind in KINDS
    assert vendor.default_bypass_platforms <= PLATFORMS
    assert vendor.name and vendor.example_issuer and vendor.root_names and vendor.deployment
    assert vendor.issuer or vendor.root
    # Never invent: a name that is not sourced must say so in a note.
    assert vendor.sources or vendor.note, "give sources, or a note saying what is unverified"
    if vendor.evidence == "heuristic":
        assert vendor.note, "heuristic patterns must carry a note"


@pytest.mark.parametrize("vendor", vendors(), ids=lambda v: v.id)
def test_example_issuer_is_recognised_as_this_vendor(vendor):
    name = name_from_dn(vendor.example_issuer)
    found = match_name(name, position="issuer") or match_name(name, position="root")
    assert found is not None, f"{vendor.example_issuer!r} matched no vendor"
    assert found.vendor.id == vendor.id, f"{vendor.example_issuer!r} matched {found.vendor.id}"


@pytest.mark.parametrize("vendor", [v for v in vendors() if v.example_root], ids=lambda v: v.id)
def test_example_root_is_recognised_as_this_vendor(vendor):
    found = match_name(name_from_dn(vendor.example_root), position="root")
    assert found is not None and found.vendor.id == vendor.id


@pytest.mark.parametrize("issuer", PUBLIC_ISSUERS)
def test_public_ca_and_enterprise_names_match_no_vendor(issuer):
    name = name_from_dn(issuer)
    for position in ("issuer", "root", "intermediate"):
        found = match_name(name, position=position)
        assert found is None, f"{issuer!r} wrongly matched {found.vendor.id}"


@pytest.mark.parametrize(
    ("dn", "vendor_id"),
    [
        ("CN=Zscaler Root CA,O=Zscaler Inc.", "zscaler"),
        ("CN=Zscaler Root CA,O=Zscaler Inc. Fan Club", None),  # O is anchored at the end
        ("CN=My Zscaler Root CA,OU=lab", None),  # CN is anchored at the start
        ("CN=Cato Networks Root CA", "cato"),
        ("CN=Cato Networks Root CA backup", None),
        ("CN=zscaler root ca,O=zscaler inc.", "zscaler"),  # case-insensitive
        ("CN=mitmproxy,O=mitmproxy", "mitmproxy"),
        ("CN=mitmproxy", None),  # mitmproxy's rule needs both CN and O
        ("O=Cloudflare\\, Inc.,C=US", None),  # Cloudflare's O alone is a public CA's too
        ("OU=Gateway Intermediate ECC Certificate Authority,O=Cloudflare\\, Inc.", "cloudflare"),
    ],
)
def test_patterns_are_anchored(dn, vendor_id):
    found = match_name(name_from_dn(dn), position="issuer") or match_name(
        name_from_dn(dn), position="root"
    )
    assert (found.vendor.id if found else None) == vendor_id


def test_cato_bypasses_android_linux_and_unknown_by_default():
    cato = next(v for v in vendors() if v.id == "cato")
    assert cato.default_bypass_platforms == {"android", "linux", "unknown"}


def test_schema_rejects_unknown_keys_bad_kinds_bad_regexes_and_platforms():
    entry = raw_entries()[0]
    parse_vendor(copy.deepcopy(entry))  # the real entry is valid

    bad = copy.deepcopy(entry) | {"colour": "red"}
    with pytest.raises(ValueError, match="unknown keys"):
        parse_vendor(bad)
    bad = copy.deepcopy(entry) | {"kind": "toaster"}
    with pytest.raises(ValueError, match="kind"):
        parse_vendor(bad)
    bad = copy.deepcopy(entry) | {"issuer": [{"cn": "Broken (CA"}]}
    with pytest.raises(ValueError, match="bad regex"):
        parse_vendor(bad)
    bad = copy.deepcopy(entry) | {"issuer": [{"cname": "x"}]}
    with pytest.raises(ValueError, match="unknown rule keys"):
        parse_vendor(bad)
    bad = copy.deepcopy(entry) | {"default_bypass_platforms": ["beos"]}
    with pytest.raises(ValueError, match="unknown platforms"):
        parse_vendor(bad)
    bad = copy.deepcopy(entry)
    del bad["sources"]
    with pytest.raises(ValueError, match="missing keys"):
        parse_vendor(bad)
    bad = copy.deepcopy(entry) | {"issuer": [], "root": []}
    with pytest.raises(ValueError, match="at least one"):
        parse_vendor(bad)


def test_public_issuer_list_loads_and_knows_lets_encrypt():
    issuers = public_issuers()
    assert len({p.id for p in issuers}) == len(issuers)
    assert any(p.org.fullmatch("Let's Encrypt") for p in issuers)
    assert not any(p.org.fullmatch("Zscaler Inc.") for p in issuers)
