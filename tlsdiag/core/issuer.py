"""Is this connection inspected, by whom, and is that expected? (pure)

The first question of the troubleshooting workflow: who issued the certificate this client sees?
A proxy or enterprise CA means TLS inspection is active (TLS Inspection = 1); a public CA means a
direct session (= 0). Signals, each reported as a reason:

1. the issuer, root or intermediate names match a product of ``data/vendors.toml``
   (anchored CN/O/OU patterns, like Chromium's MITM-software list);
2. the chain ends at a root outside the public root program (certifi) that this machine trusts:
   on a public name that is inspection, on an internal name it is internal PKI;
3. the leaf claims a public CA but does not chain to one and has no SCTs, or it was issued
   minutes ago (forged on the fly);
4. the caller's expectations (``--expect-issuer``, ``--expect-fingerprint``).

Nothing here does I/O: the caller passes the certificates, the trust verdicts, the clock and the
platform. Data files are read through ``tlsdiag.kb_vendors``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from tlsdiag import codes
from tlsdiag.core.certs import sct_count, summarize
from tlsdiag.core.findings import make_finding
from tlsdiag.kb_vendors import NameRule, Vendor, public_issuers, vendors
from tlsdiag.model import Finding, Report, Severity

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

HIGH = "high"
MEDIUM = "medium"
LOW = "low"

PUBLIC_STORE = "public (certifi)"
OS_STORE = "os"
CAFILE_STORE = "--cafile"

PLATFORM_LABELS = {
    "linux": "Linux",
    "macos": "macOS",
    "windows": "Windows",
    "android": "Android",
    "ios": "iOS",
    "unknown": "an unidentified OS",
}

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


@dataclass(frozen=True, slots=True)
class Interception:
    """The verdict: is the presented chain an inspecting proxy's, whose, and how sure we are."""

    inspected: bool
    vendor: str | None
    vendor_id: str | None
    confidence: str  # "high" | "medium" | "low"
    reasons: tuple[str, ...]
    issuer: str
    root: str
    kind: str | None = None  # the vendor's kind (sase, firewall, antivirus ...)
    root_sha256: str = ""  # fingerprint of the root when it was seen ("" when not)
    public_root: bool = False  # the chain ends at a root of the public root program

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``tls_inspection`` is 1 when inspected, else 0)."""
        return {
            "inspected": self.inspected,
            "tls_inspection": 1 if self.inspected else 0,
            "vendor": self.vendor,
            "vendor_id": self.vendor_id,
            "kind": self.kind,
            "confidence": self.confidence,
            "reasons": list(self.reasons),
            "issuer": self.issuer,
            "root": self.root,
            "root_sha256": self.root_sha256,
            "public_root": self.public_root,
        }


@dataclass(frozen=True, slots=True)
class VendorMatch:
    """Which vendor rule matched which certificate name."""

    vendor: Vendor
    position: str  # "issuer", "root" or "intermediate"
    name: str  # the matched name, RFC 4514 style
    rule: str  # the rule, as written in the data file


# --- small certificate helpers ------------------------------------------------------------


def dn(name: x509.Name) -> str:
    """``CN=..., O=..., C=...`` (most specific first); ``(empty)`` for an empty name."""
    return name.rfc4514_string().replace(",", ", ") if len(name) else "(empty)"


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


# --- names and vendors -----------------------------------------------------------------------


_RULE_OIDS = (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME)
_NameValues = tuple[list[str], list[str], list[str]]


def _name_values(name: x509.Name) -> _NameValues:
    cn, o, ou = (_values(name, oid) for oid in _RULE_OIDS)
    return cn, o, ou


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
    for vendor in catalogue if catalogue is not None else vendors():
        if position == "issuer":
            rules: tuple[NameRule, ...] = vendor.issuer
        elif position == "root":
            rules = vendor.root
        else:
            rules = vendor.issuer + vendor.root
        for rule in rules:
            if _rule_matches_values(rule, values):
                return VendorMatch(vendor, position, dn(name), rule.describe())
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


# --- the verdict -------------------------------------------------------------------------------


def assess_interception(
    presented: Sequence[x509.Certificate],
    path: Sequence[x509.Certificate],
    *,
    host: str,
    now: datetime,
    public_root_fingerprints: frozenset[str],
    trusted_by: Mapping[str, bool],
    platform: str,
    app: str | None = None,
    expect_issuer: str | None = None,
    expect_fingerprint: str | None = None,
    configured_vendors: Sequence[str] = (),
    public_roots: Sequence[x509.Certificate] = (),
    new_days: int = NEWLY_PUBLISHED_DAYS,
) -> tuple[Interception, list[Finding]]:
    """Decide whether the presented chain is an inspecting proxy's, and say why.

    Args:
        presented: the certificates as the server sent them, leaf first.
        path: the built path leaf..root (``[]``, or ``presented``, when none was built).
        host: the name the client asked for (decides public name vs internal PKI).
        now: the current time (UTC-aware).
        public_root_fingerprints: SHA-256 (lower-case hex) of the public root program's roots.
        trusted_by: which trust stores accept the chain, e.g.
            ``{"public (certifi)": False, "os": True, "--cafile": False}``.
        platform: this client's platform: linux, macos, windows, android, ios, unknown.
        app: the application the user asks about (``--app``), for default-bypass apps.
        expect_issuer: a regex that the issuer, the root or the vendor name must match
            (``--expect-issuer``).
        expect_fingerprint: a SHA-256 that must be one of the chain's certificates
            (``--expect-fingerprint``; hex, colons allowed).
        configured_vendors: vendor ids known to be deployed here (``--vendor``, or inspection
            roots found in this machine's stores); used for platform.default_bypass.
        public_roots: the public roots themselves (optional): find the root when the server did
            not send it, and learn public CA organisation names.
        new_days: a directly seen leaf younger than this is reported as domain.newly_published.

    Returns:
        The verdict and the findings: interception.detected (info) when inspected, or (error)
        when an expectation fails; platform.default_bypass; domain.newly_published.

    Raises:
        ValueError: ``expect_issuer`` is not a valid regex or ``expect_fingerprint`` is not a
            SHA-256 in hex.
    """
    expect_re = compile_expect_issuer(expect_issuer) if expect_issuer else None
    expect_fp = normalize_fingerprint(expect_fingerprint) if expect_fingerprint else None
    if not presented:
        verdict = Interception(
            inspected=False,
            vendor=None,
            vendor_id=None,
            confidence=LOW,
            reasons=("the server presented no certificate",),
            issuer="",
            root="",
        )
        return verdict, []

    leaf = presented[0]
    root_cert, root_name = _root_of(presented, path, public_roots)
    root_fp = _sha256(root_cert) if root_cert is not None else ""
    public = bool(trusted_by.get(PUBLIC_STORE)) or (
        bool(root_fp) and root_fp in public_root_fingerprints
    )
    private_stores = [s for s, ok in trusted_by.items() if ok and s != PUBLIC_STORE]
    issuer_text = dn(leaf.issuer)
    root_text = dn(root_name)
    host_kind = classify_host(host)
    scts = sct_count(leaf)
    not_before = leaf.not_valid_before_utc
    lifetime = leaf.not_valid_after_utc - not_before
    age = now - not_before

    reasons: list[str] = []
    vendor_match: VendorMatch | None = None
    if public:
        inspected = False
        confidence = HIGH
        reasons.append(
            f"the chain ends at '{root_text}', a root of the public root program (certifi): "
            "a direct session with the site's own CA"
        )
        if scts == 0:
            confidence = MEDIUM
            reasons.append(
                "the leaf carries no embedded SCTs although it chains to a public CA; unusual "
                "(SCTs may still arrive in the handshake or by OCSP)"
            )
    else:
        vendor_match = find_vendor(presented, path, root_name)
        claimed = _claims_public(leaf.issuer, (o for r in public_roots for o in _org(r.subject)))
        fresh = -CLOCK_SLACK <= age <= FRESH_LEAF
        trust_reason = _trust_reason(root_text, private_stores)
        self_signed_leaf = len(presented) == 1 and _self_issued(leaf) and root_cert is leaf
        if vendor_match is not None:
            inspected = True
            confidence = HIGH
            reasons.append(
                f"the {vendor_match.position} name '{vendor_match.name}' matches "
                f"{vendor_match.vendor.name} ({vendor_match.rule})"
            )
            reasons.append(trust_reason)
        elif self_signed_leaf and claimed is None and not fresh:
            inspected = False
            confidence = LOW
            reasons.append(
                "the leaf is self-signed: a server configuration, not an inspecting proxy "
                "(proxies sign with a CA)"
            )
            reasons.append(trust_reason)
        else:
            reasons.append(trust_reason)
            strong = False
            if claimed is not None:
                strong = True
                reasons.append(
                    f"the issuer claims '{claimed}', a public CA, but the chain does not end at "
                    "a public root"
                    + (" and the leaf has no embedded SCTs" if scts == 0 else "")
                    + ": a copy forged by a proxy"
                )
            if fresh:
                strong = True
                reasons.append(
                    f"the leaf was issued {_ago(age)} ago"
                    + (
                        f" and lives only {lifetime.days} days"
                        if lifetime <= SHORT_LIFETIME
                        else ""
                    )
                    + ": forged on the fly"
                )
            if host_kind == "public":
                inspected = True
                confidence = HIGH if strong else MEDIUM
                reasons.append(
                    f"'{host}' is a public name: its real certificate comes from a public CA, "
                    "so a private CA here means TLS inspection"
                )
            elif strong:
                inspected = True
                confidence = MEDIUM
                reasons.append(
                    f"'{host}' is an internal name, but the signs above point to a proxy"
                )
            else:
                inspected = False
                confidence = MEDIUM
                what = "an IP address" if host_kind == "ip" else "an internal name"
                reasons.append(
                    f"'{host}' is {what}: a private CA is expected there (internal PKI), "
                    "not a sign of inspection"
                )

    vendor = vendor_match.vendor if vendor_match is not None else None
    findings: list[Finding] = []
    expectation_met = True
    if expect_re is not None:
        targets = [issuer_text, root_text]
        if vendor is not None:
            targets += [vendor.name, vendor.id]
        if any(expect_re.search(t) for t in targets):
            reasons.append(f"the issuer matches --expect-issuer '{expect_issuer}'")
        else:
            expectation_met = False
            findings.append(
                make_finding(
                    codes.INTERCEPTION_DETECTED,
                    severity=Severity.ERROR,
                    title="issuer is not the expected one",
                    detail=(
                        f"Expected an issuer matching '{expect_issuer}'; this client sees "
                        f"'{issuer_text}' (root '{root_text}'), "
                        + ("an inspecting proxy's certificate." if inspected else "a direct chain.")
                    ),
                    evidence={
                        "expected": expect_issuer or "",
                        "issuer": issuer_text,
                        "root": root_text,
                        "inspected": "yes" if inspected else "no",
                    },
                    remediation=(
                        "Find out which path this client takes: a different proxy, a bypass rule "
                        "or a direct route changes the issuer. Compare with a machine that sees "
                        "the expected issuer."
                    ),
                )
            )
    if expect_fp is not None:
        chain_fps = {_sha256(c) for c in [*presented, *path]}
        if root_cert is not None:
            chain_fps.add(root_fp)
        if expect_fp in chain_fps:
            reasons.append("the pinned SHA-256 (--expect-fingerprint) is in the chain")
        else:
            expectation_met = False
            findings.append(
                make_finding(
                    codes.INTERCEPTION_DETECTED,
                    severity=Severity.ERROR,
                    title="issuer is not the expected one: the pinned certificate is missing",
                    detail=(
                        f"No certificate of the chain has the SHA-256 {expect_fp}; the leaf is "
                        f"{_sha256(leaf)}, issued by '{issuer_text}'."
                    ),
                    evidence={
                        "expected_sha256": expect_fp,
                        "leaf_sha256": _sha256(leaf),
                        "issuer": issuer_text,
                        "root": root_text,
                    },
                    remediation=(
                        "Either the server changed its certificate (update the pin) or something "
                        "between this client and the server re-signs it (inspection)."
                    ),
                )
            )

    verdict = Interception(
        inspected=inspected,
        vendor=vendor.name if vendor is not None else None,
        vendor_id=vendor.id if vendor is not None else None,
        confidence=confidence,
        reasons=tuple(reasons),
        issuer=issuer_text,
        root=root_text,
        kind=vendor.kind if vendor is not None else None,
        root_sha256=root_fp,
        public_root=public,
    )

    if inspected:
        findings.append(_detected(verdict, host))
    else:
        findings.extend(
            _default_bypass(
                verdict,
                platform=platform,
                app=app,
                candidates=_candidate_vendors(configured_vendors, expect_re),
                expectation_met=expectation_met,
            )
        )
        newly = _newly_published(leaf, host=host, now=now, new_days=new_days)
        if newly is not None:
            findings.append(newly)
    return verdict, findings


def compile_expect_issuer(pattern: str) -> re.Pattern[str]:
    """``--expect-issuer`` as a case-insensitive regex searched in the issuer, root and vendor.

    Raises:
        ValueError: the pattern is not a valid regex.
    """
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(
            f"--expect-issuer {pattern!r}: not a valid regular expression: {exc}"
        ) from exc


def normalize_fingerprint(value: str) -> str:
    """``AB:CD:...`` or ``sha256:abcd...`` to 64 lower-case hex digits.

    Raises:
        ValueError: not a SHA-256 in hex.
    """
    text = value.strip().lower()
    if text.startswith("sha256:") or text.startswith("sha256="):
        text = text[7:]
    text = re.sub(r"[\s:]", "", text)
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise ValueError(
            f"--expect-fingerprint {value!r}: expected a SHA-256 fingerprint (64 hex digits, "
            "colons allowed)"
        )
    return text


def _trust_reason(root_text: str, private_stores: Sequence[str]) -> str:
    if private_stores:
        where = " and ".join(
            "this machine's OS store" if s == OS_STORE else s for s in private_stores
        )
        return (
            f"the chain ends at '{root_text}', which is not in the public root program (certifi) "
            f"but is trusted by {where}: a private CA"
        )
    return (
        f"the chain ends at '{root_text}', which is neither in the public root program (certifi) "
        "nor trusted by this machine"
    )


def _detected(verdict: Interception, host: str) -> Finding:
    who = verdict.vendor or "a private CA"
    title = (
        f"This connection is inspected ({verdict.vendor})"
        if verdict.vendor
        else "This connection is inspected"
    )
    return make_finding(
        codes.INTERCEPTION_DETECTED,
        title=title,
        detail=(
            f"The certificate this client sees for {host} was issued by {who}, not by the "
            f"site's own public CA (confidence {verdict.confidence}): "
            + (verdict.reasons[0] if verdict.reasons else "")
            + "."
        ),
        evidence={
            "tls_inspection": "1",
            "vendor": verdict.vendor or "unknown",
            "confidence": verdict.confidence,
            "issuer": verdict.issuer,
            "root": verdict.root,
            **({"root_sha256": verdict.root_sha256} if verdict.root_sha256 else {}),
        },
    )


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


def _default_bypass(
    verdict: Interception,
    *,
    platform: str,
    app: str | None,
    candidates: Sequence[Vendor],
    expectation_met: bool,
) -> list[Finding]:
    out: list[Finding] = []
    label = PLATFORM_LABELS.get(platform, platform)
    for vendor in candidates:
        bypass = sorted(vendor.default_bypass_platforms, key=list(PLATFORM_LABELS).index)
        app_hit = app is not None and app.lower() in vendor.default_bypass_apps
        if platform not in vendor.default_bypass_platforms and not app_hit:
            continue
        subject = f"the application '{app}'" if app_hit else f"this client's OS ({label})"
        listed = ", ".join(PLATFORM_LABELS.get(p, p) for p in bypass) or "-"
        out.append(
            make_finding(
                codes.PLATFORM_DEFAULT_BYPASS,
                detail=(
                    f"{vendor.name} does not inspect {subject} by default (default bypass "
                    f"platforms: {listed}). The public issuer '{verdict.issuer}' is therefore "
                    "expected here; it is not a sign that inspection is broken"
                    + (
                        ""
                        if expectation_met
                        else ", and the --expect-issuer check cannot pass here"
                    )
                    + "."
                ),
                evidence={
                    "vendor": vendor.name,
                    "platform": platform,
                    **({"app": app} if app else {}),
                    "default_bypass_platforms": listed,
                    "issuer": verdict.issuer,
                },
            )
        )
    return out


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
            "issuer": dn(leaf.issuer),
        },
    )


_CHAIN_KEYS = ("subject", "issuer", "sha256", "not_before", "not_after", "sct_count")


def path_facts(
    presented: Sequence[x509.Certificate], path: Sequence[x509.Certificate]
) -> dict[str, Any]:
    """JSON-ready description of the presented chain and the built path (for the report): a
    few fields of each certificate's summary."""

    def one(cert: x509.Certificate, position: int) -> dict[str, Any]:
        summary = summarize(cert, position).to_dict()
        return {key: summary[key] for key in _CHAIN_KEYS}

    return {
        "presented_chain": [one(c, i) for i, c in enumerate(presented)],
        "path": [one(c, i) for i, c in enumerate(path)],
    }


def installed_vendors(roots: Sequence[x509.Certificate]) -> list[tuple[str, str]]:
    """Inspection roots among trusted roots: ``(vendor id, root name)`` for each root whose name
    matches a vendor's root (or issuer) rules. Tells which product this machine is set up for."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for cert in roots:
        found = match_name(cert.subject, position="root") or match_name(
            cert.subject, position="issuer"
        )
        if found is not None and found.vendor.id not in seen:
            seen.add(found.vendor.id)
            out.append((found.vendor.id, dn(cert.subject)))
    return out


def issuer_report(
    *,
    target: str,
    generated_at: str,
    tool_version: str,
    verdict: Interception | None,
    findings: Sequence[Finding],
    presented: Sequence[x509.Certificate],
    path: Sequence[x509.Certificate],
    trusted_by: Mapping[str, bool],
    platform: str,
    app: str | None,
    configured: Sequence[tuple[str, str]],
    connection: Mapping[str, Any],
) -> Report:
    """The ``tlsdiag issuer`` report: the verdict at the top level, then the chain.

    Args:
        target: ``host:port`` as shown to the user.
        generated_at: ISO 8601 UTC.
        tool_version: ``tlsdiag.__version__``.
        verdict: the interception verdict (None when no certificate was seen).
        findings: the findings to report.
        presented: the chain as sent by the server.
        path: the built path.
        trusted_by: which stores accept the chain.
        platform: the platform judged (``--platform`` or this OS).
        app: ``--app``.
        configured: ``(vendor id, root name)`` of inspection roots this machine trusts.
        connection: host, port, sni, address of the probe.

    Returns:
        The report.
    """
    facts: dict[str, Any] = {"connection": dict(connection)}
    if verdict is not None:
        facts["verdict"] = "inspected" if verdict.inspected else "direct"
        facts["tls_inspection"] = 1 if verdict.inspected else 0
        facts["interception"] = verdict.to_dict()
    else:
        facts["verdict"] = "unknown"
        facts["tls_inspection"] = None
        facts["interception"] = None
    facts["platform"] = platform
    facts["app"] = app
    facts["trusted_by"] = dict(trusted_by)
    facts["inspection_roots_trusted_here"] = [
        {"vendor_id": vid, "root": name} for vid, name in configured
    ]
    facts.update(path_facts(presented, path))
    return Report(
        command="issuer",
        target=target,
        generated_at=generated_at,
        facts=facts,
        findings=tuple(findings),
        tool_version=tool_version,
    )
