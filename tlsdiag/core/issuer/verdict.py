"""The verdict: is the presented chain an inspecting proxy's, whose, how sure, and is that what
the caller expected (``--expect-issuer``, ``--expect-fingerprint``, default bypass). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from cryptography import x509

from tlsdiag import codes
from tlsdiag.core.certs import name_string, sct_count
from tlsdiag.core.findings import make_finding
from tlsdiag.core.issuer.signals import (
    CLOCK_SLACK,
    FRESH_LEAF,
    NEWLY_PUBLISHED_DAYS,
    SHORT_LIFETIME,
    _ago,
    _claims_public,
    _newly_published,
    _org,
    _root_of,
    _self_issued,
    _sha256,
    classify_host,
    public_aia,
)
from tlsdiag.core.issuer.vendor_match import VendorMatch, _candidate_vendors, find_vendor
from tlsdiag.facts.check import InterceptionFacts
from tlsdiag.facts.ids import Platform, RootSetId
from tlsdiag.kb.vendors import Vendor
from tlsdiag.model import Finding, Severity

HIGH = "high"
MEDIUM = "medium"
LOW = "low"

PLATFORM_LABELS: dict[str, str] = {
    Platform.LINUX: "Linux",
    Platform.MACOS: "macOS",
    Platform.WINDOWS: "Windows",
    Platform.ANDROID: "Android",
    Platform.IOS: "iOS",
    Platform.UNKNOWN: "an unidentified OS",
}


class Interception(NamedTuple):
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

    def to_dict(self) -> InterceptionFacts:
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


def assess_interception(
    presented: Sequence[x509.Certificate],
    path: Sequence[x509.Certificate],
    *,
    host: str,
    now: datetime,
    public_root_fingerprints: frozenset[str],
    trusted_by: Mapping[RootSetId, bool],
    platform: str,
    app: str | None = None,
    expect_issuer: str | None = None,
    expect_fingerprint: str | None = None,
    configured_vendors: Sequence[str] = (),
    public_roots: Sequence[x509.Certificate] = (),
    public_orgs: Iterable[str] | None = None,
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
            ``{RootSetId.PUBLIC: False, RootSetId.OS: True, RootSetId.CAFILE: False}``.
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
        public_orgs: the organisation names of ``public_roots`` when the caller has them
            already (None: read from ``public_roots``).
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
    public = bool(trusted_by.get(RootSetId.PUBLIC)) or (
        bool(root_fp) and root_fp in public_root_fingerprints
    )
    private_stores = [s for s, ok in trusted_by.items() if ok and s != RootSetId.PUBLIC]
    issuer_text = name_string(leaf.issuer)
    root_text = name_string(root_name)
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
        if public_orgs is None:
            public_orgs = (o for r in public_roots for o in _org(r.subject))
        claimed = _claims_public(leaf.issuer, public_orgs)
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
            unsent = root_cert is None and not any(c.subject == root_name for c in presented)
            public_missing = claimed is not None and unsent and scts > 0
            if public_missing:
                claimed = None  # a real public leaf whose intermediate was not sent
                reasons.append(
                    f"the issuer '{issuer_text}' names a public CA and the leaf carries "
                    f"{scts} embedded SCTs: a public certificate whose issuer was not sent"
                )
            elif claimed is None and unsent and not public_aia(path or presented):
                reasons.append(
                    f"the issuer '{root_text}' was not sent, has no public CA name and no AIA URL "
                    "to a public CA: a private root (an inspection root is never sent)"
                )
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
            if public_missing and not fresh:
                inspected = False
                confidence = MEDIUM
            elif host_kind == "public":
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
    # an expectation that fails on a direct chain is about the path this client takes, not a
    # detected interception
    mismatch_code = codes.INTERCEPTION_DETECTED if inspected else codes.ISSUER_UNEXPECTED
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
                    mismatch_code,
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
                    mismatch_code,
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


def _trust_reason(root_text: str, private_stores: Sequence[RootSetId]) -> str:
    if private_stores:
        where = " and ".join(
            "this machine's OS store" if s == RootSetId.OS else s for s in private_stores
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
                    f"platforms: {listed}). "
                    + (
                        f"The public issuer '{verdict.issuer}' is therefore expected here; it is "
                        "not a sign that inspection is broken"
                        if verdict.public_root
                        else f"The issuer '{verdict.issuer}' is not a public CA and not "
                        f"{vendor.name}'s: another CA (an internal PKI or another proxy) issues "
                        "this certificate"
                    )
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
