"""Which TLS-inspection product a certificate name belongs to: the anchored CN/O/OU rules of
``data/vendors.toml`` (like Chromium's MITM-software list). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import NamedTuple

from cryptography import x509
from cryptography.x509.oid import NameOID

from tlsdiag.core.certs import name_string
from tlsdiag.kb.vendors import NameRule, Vendor, vendors


class VendorMatch(NamedTuple):
    """Which vendor rule matched which certificate name."""

    vendor: Vendor
    position: str  # "issuer", "root" or "intermediate"
    name: str  # the matched name, RFC 4514 style
    rule: str  # the rule, as written in the data file


_RULE_OIDS = (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME)
_NameValues = tuple[list[str], list[str], list[str]]


def _name_values(name: x509.Name) -> _NameValues:
    """The CN, O and OU values of a name, read in one pass over its attributes."""
    cn: list[str] = []
    o: list[str] = []
    ou: list[str] = []
    slots = dict(zip(_RULE_OIDS, (cn, o, ou), strict=True))
    for attr in name:
        found = slots.get(attr.oid)
        if found is not None:
            value = attr.value
            found.append(value if isinstance(value, str) else value.decode("utf-8", "replace"))
    return cn, o, ou


def _needles(catalogue: Sequence[Vendor]) -> frozenset[str] | None:
    """Every literal some rule of the catalogue needs, or None when a pattern has none.

    Each set pattern of a rule must match, and a pattern cannot match a value without one of
    its needles; so a name whose values contain none of these cannot match any rule.
    """
    out: set[str] = set()
    for vendor in catalogue:
        for rule in vendor.issuer + vendor.root:
            patterns = [p for p in (rule.cn, rule.o, rule.ou) if p is not None]
            if not any(p.needles for p in patterns):
                return None
            out.update(next(p for p in patterns if p.needles).needles)
    return frozenset(out)


@cache
def _catalogue_needles() -> frozenset[str] | None:
    return _needles(vendors())


def _rule_matches_values(rule: NameRule, values: _NameValues) -> bool:
    for pattern, found in zip((rule.cn, rule.o, rule.ou), values, strict=True):
        if pattern is not None and not any(pattern.fullmatch(v) for v in found):
            return False
    return True


def rule_matches(rule: NameRule, name: x509.Name) -> bool:
    """Chromium-style match: each pattern the rule sets must match the whole value of that
    attribute (any value, when the name has several); a name without the attribute fails."""
    return _rule_matches_values(rule, _name_values(name))


def match_name(
    name: x509.Name, *, position: str, catalogue: Sequence[Vendor] | None = None
) -> VendorMatch | None:
    """The first vendor whose rules for ``position`` match ``name``.

    Args:
        name: a certificate name (an issuer or subject).
        position: ``"issuer"`` (leaf issuer: issuer rules), ``"root"`` (root rules) or
            ``"intermediate"`` (both rule sets).
        catalogue: the vendors to try (default: ``data/vendors.toml``).

    Returns:
        The match, or None.
    """
    values = _name_values(name)  # read the name once, not once per rule
    if catalogue is None:
        needles = _catalogue_needles()
        if needles is not None:
            text = "\n".join(v for found in values for v in found).lower()
            if not any(n in text for n in needles):
                return None
    for vendor in catalogue if catalogue is not None else vendors():
        if position == "issuer":
            rules: tuple[NameRule, ...] = vendor.issuer
        elif position == "root":
            rules = vendor.root
        else:
            rules = vendor.issuer + vendor.root
        for rule in rules:
            if _rule_matches_values(rule, values):
                return VendorMatch(vendor, position, name_string(name), rule.describe())
    return None


def find_vendor(
    presented: Sequence[x509.Certificate],
    path: Sequence[x509.Certificate],
    root_name: x509.Name | None,
) -> VendorMatch | None:
    """Look for a known product: leaf issuer first, then the root, then the intermediates."""
    if not presented:
        return None
    found = match_name(presented[0].issuer, position="issuer")
    if found is None and root_name is not None:
        found = match_name(root_name, position="root")
    if found is None:
        seen: set[bytes] = set()
        for cert in [*presented[1:], *path[1:]]:
            key = cert.subject.public_bytes()
            if key in seen or (root_name is not None and cert.subject == root_name):
                continue
            seen.add(key)
            found = match_name(cert.subject, position="intermediate")
            if found is not None:
                break
    return found


def _candidate_vendors(
    configured: Sequence[str], expect_re: re.Pattern[str] | None
) -> list[Vendor]:
    """The vendors this client is supposed to go through: configured ones, then the ones the
    --expect-issuer pattern names."""
    out: list[Vendor] = []
    by_id = {v.id: v for v in vendors()}
    for vid in configured:
        vendor = by_id.get(vid)
        if vendor is not None and vendor not in out:
            out.append(vendor)
    if expect_re is not None:
        for vendor in vendors():
            texts = [vendor.name, vendor.id, *vendor.root_names]
            if vendor not in out and any(expect_re.search(t) for t in texts):
                out.append(vendor)
    return out


def root_vendor(cert: x509.Certificate) -> tuple[str, str] | None:
    """``(vendor id, root name)`` when the certificate's subject matches a vendor's root (or
    issuer) rules: it is that product's inspection root. None for any other certificate."""
    found = match_name(cert.subject, position="root") or match_name(cert.subject, position="issuer")
    return (found.vendor.id, name_string(cert.subject)) if found is not None else None


def first_per_vendor(matches: Iterable[tuple[str, str] | None]) -> list[tuple[str, str]]:
    """The first ``root_vendor`` answer of each vendor, in order (Nones skipped)."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for match in matches:
        if match is not None and match[0] not in seen:
            seen.add(match[0])
            out.append(match)
    return out


def installed_vendors(roots: Sequence[x509.Certificate]) -> list[tuple[str, str]]:
    """Inspection roots among trusted roots: ``(vendor id, root name)`` for each root whose name
    matches a vendor's root (or issuer) rules. Tells which product this machine is set up for."""
    return first_per_vendor(root_vendor(cert) for cert in roots)
