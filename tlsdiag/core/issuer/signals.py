"""The signals of interception in a presented chain, apart from vendor names: the host kind
(public name, internal name, IP), a leaf that claims a public CA without chaining to one, a leaf
issued minutes ago, the root, and the age of a directly seen certificate. Pure."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from tlsdiag import codes
from tlsdiag.core.certs import name_string
from tlsdiag.core.findings import make_finding
from tlsdiag.kb.vendors import public_issuers
from tlsdiag.model import Finding

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

# Names under these suffixes are never public, whatever the public suffix list says.
INTERNAL_SUFFIXES = (
    "local",
    "internal",
    "corp",
    "test",
    "lan",
    "home",
    "home.arpa",
    "intranet",
    "private",
    "localdomain",
    "localhost",
    "invalid",
    "example",
)

FRESH_LEAF = timedelta(hours=1)  # "issued minutes ago"
SHORT_LIFETIME = timedelta(days=31)  # forged leaves often live days or weeks
CLOCK_SLACK = timedelta(minutes=5)
NEWLY_PUBLISHED_DAYS = 7
SHORT_LIVED_CERT = timedelta(days=10)  # such certificates are always new: say nothing


def _values(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    out: list[str] = []
    for attr in name.get_attributes_for_oid(oid):
        value = attr.value
        out.append(value if isinstance(value, str) else value.decode("utf-8", "replace"))
    return out


def _sha256(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _self_issued(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer


def _org(name: x509.Name) -> list[str]:
    return _values(name, NameOID.ORGANIZATION_NAME)


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{max(minutes, 0)} minutes"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"


@cache
def _psl() -> PublicSuffixList:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the list bundled with the package: no network


def classify_host(host: str) -> str:
    """``"ip"``, ``"internal"`` (no public suffix, .local, .internal, .corp, .test ...) or
    ``"public"`` (under a suffix of the public suffix list)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return "ip"
    if "." not in name:
        return "internal"
    if any(name == s or name.endswith("." + s) for s in INTERNAL_SUFFIXES):
        return "internal"
    if _psl().publicsuffix(name, accept_unknown=False) is None:
        return "internal"
    return "public"


def _claims_public(issuer: x509.Name, extra_orgs: Iterable[str]) -> str | None:
    orgs = _org(issuer)
    if not orgs:
        return None
    extra = {o.casefold() for o in extra_orgs}
    for org in orgs:
        if org.casefold() in extra or any(p.org.fullmatch(org) for p in public_issuers()):
            return org
    return None


def _root_of(
    presented: Sequence[x509.Certificate],
    path: Sequence[x509.Certificate],
    public_roots: Sequence[x509.Certificate],
) -> tuple[x509.Certificate | None, x509.Name]:
    """The root certificate when seen (else a public root that signed the top), and its name."""
    chain = list(path) or list(presented)
    top = chain[-1]
    if _self_issued(top):
        return top, top.subject
    for candidate in public_roots:
        if candidate.subject == top.issuer:
            try:
                top.verify_directly_issued_by(candidate)
            except (InvalidSignature, ValueError, TypeError):  # wrong key, unsupported key type
                continue
            return candidate, candidate.subject
    return None, top.issuer


def _newly_published(
    leaf: x509.Certificate, *, host: str, now: datetime, new_days: int
) -> Finding | None:
    not_before = leaf.not_valid_before_utc
    lifetime = leaf.not_valid_after_utc - not_before
    age = now - not_before
    if lifetime <= SHORT_LIVED_CERT or not (-CLOCK_SLACK <= age <= timedelta(days=new_days)):
        return None
    return make_finding(
        codes.DOMAIN_NEWLY_PUBLISHED,
        detail=(
            f"The certificate {host} presents directly was issued {_ago(age)} ago "
            f"({not_before:%Y-%m-%d %H:%M} UTC). A routine renewal looks the same, but a site or "
            "domain this new may not have a reputation category yet, so filtering and inspection "
            "policies can treat it as unknown."
        ),
        evidence={
            "not_before": not_before.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "age_days": str(max(age.days, 0)),
            "issuer": name_string(leaf.issuer),
        },
    )
