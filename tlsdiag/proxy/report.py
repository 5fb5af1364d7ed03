"""Reports of the ``ca`` and ``proxy`` commands, built from plain data (no I/O)."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tlsdiag import __version__, codes
from tlsdiag.core.findings import make_finding
from tlsdiag.facts.ca import CaCertFacts, CaFacts
from tlsdiag.facts.proxy import (
    EventFacts,
    EventFilters,
    EventsSummaryFacts,
    ProxyEventsFacts,
    ProxyRunFacts,
)
from tlsdiag.kb.findings import findings as finding_table
from tlsdiag.model import OS_PLATFORMS, Finding, Report, Severity, platform_name
from tlsdiag.proxy.ca import CaPaths, permitted_domains


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def spki_sha256_b64(cert: x509.Certificate) -> str:
    """Base64 SHA-256 of the SubjectPublicKeyInfo (Chromium's SPKI allow-list format)."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def _key_name(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "EC P-256", "secp384r1": "EC P-384"}.get(
            key.curve.name, key.curve.name
        )
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    return type(key).__name__


def ca_facts(cert: x509.Certificate, paths: CaPaths | None) -> CaCertFacts:
    """What a person needs to know about the inspection CA."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        "subject": cert.subject.rfc4514_string(),
        "not_before": _iso(cert.not_valid_before_utc),
        "not_after": _iso(cert.not_valid_after_utc),
        "key": _key_name(cert),
        "sha256": hashlib.sha256(der).hexdigest(),
        "spki_sha256_base64": spki_sha256_b64(cert),
        "permitted_domains": list(permitted_domains(cert)),
        "cert_path": str(paths.cert) if paths else "",
        "key_path": str(paths.key) if paths else "",
    }


def ca_report(
    command: str,
    cert: x509.Certificate,
    paths: CaPaths | None,
    *,
    now: datetime,
    created: bool = False,
) -> Report:
    """``ca init`` / ``ca show``: the CA's facts (``created`` by ``ca init``)."""
    base, left = ca_facts(cert, paths), cert.not_valid_after_utc - now
    days_left, expired = max(0, left.days), left.total_seconds() <= 0
    # "created" (ca init only) goes before days_left, where the JSON output has always had it
    created_key: dict[str, bool] = {"created": True} if created else {}
    facts = cast("CaFacts", {**base, **created_key, "days_left": days_left, "expired": expired})
    return Report(
        command=command,
        target=str(paths.cert) if paths else facts["subject"],
        generated_at=_iso(now),
        facts=facts,
        tool_version=__version__,
    )


def normalize_platform(value: str) -> str:
    """``darwin`` -> ``macos``; ``all`` stays; ValueError for anything else."""
    if value.lower() == "all":
        return "all"
    plat = platform_name(value)
    if plat not in OS_PLATFORMS:
        raise ValueError(f"--platform {value!r}: expected linux, macos, windows or all")
    return plat


# --- proxy events ----------------------------------------------------------------------------


def _severity(code: str) -> Severity | None:
    info = finding_table().get(code)
    return info.severity if info else None


def is_error_event(ev: EventFacts) -> bool:
    """True when an event carries an error-level finding or a TLS alert."""
    code = str(ev.get("finding") or "")
    sev = _severity(code) if code else None
    return sev is Severity.ERROR or bool(ev.get("tls_error_description"))


def events_summary(events: Sequence[EventFacts]) -> EventsSummaryFacts:
    """Counts by action, inspection and finding code."""
    return {
        "events": len(events),
        "by_action": dict(Counter(str(e.get("action", "")) for e in events)),
        "inspected": sum(1 for e in events if e.get("tls_inspection") == 1),
        "by_finding": dict(Counter(str(e.get("finding")) for e in events if e.get("finding"))),
        "bytes_up": sum(int(e.get("bytes_up") or 0) for e in events),
        "bytes_down": sum(int(e.get("bytes_down") or 0) for e in events),
    }


def event_findings(events: Sequence[EventFacts]) -> list[Finding]:
    """One finding per (code, host), with the count and the first event's words as evidence."""
    groups: dict[tuple[str, str], list[EventFacts]] = {}
    for ev in events:
        code = str(ev.get("finding") or "")
        if not code or code not in codes.ALL_CODES:
            continue
        host = str(ev.get("sni") or ev.get("host") or "")
        groups.setdefault((code, host), []).append(ev)
    out = []
    for (code, host), evs in groups.items():
        first = evs[0]
        evidence = {
            "host": f"{host}:{first.get('port', '')}",
            "connections": str(len(evs)),
            "action": str(first.get("action", "")),
            "rule": str(first.get("rule", "")),
        }
        for key, value in (
            ("tls_error_description", first.get("tls_error_description")),
            ("tls_certificate_error", first.get("tls_certificate_error")),
            ("tls_error_type", first.get("tls_error_type")),
            ("issuer", first.get("issuer")),
            ("upstream_version", first.get("upstream_version")),
        ):
            if value:
                evidence[key] = str(value)
        detail = str(first.get("detail") or "") or f"seen on {host}"
        out.append(make_finding(code, detail=f"{host}: {detail}", evidence=evidence))
    return out


class EventSummary:
    """Running totals of a proxy run (so the proxy need not keep every event in memory)."""

    def __init__(self, max_groups: int = 500) -> None:
        self.count = 0
        self.by_action: Counter[str] = Counter()
        self.by_finding: Counter[str] = Counter()
        self.inspected = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self.max_groups = max_groups
        self.groups: dict[tuple[str, str], tuple[EventFacts, int]] = {}

    def add(self, ev: EventFacts) -> None:
        """Count one event; keep the first event of each (finding, host) pair."""
        self.count += 1
        self.by_action[str(ev.get("action", ""))] += 1
        self.inspected += 1 if ev.get("tls_inspection") == 1 else 0
        self.bytes_up += int(ev.get("bytes_up") or 0)
        self.bytes_down += int(ev.get("bytes_down") or 0)
        code = str(ev.get("finding") or "")
        if code:
            self.by_finding[code] += 1
            key = (code, str(ev.get("sni") or ev.get("host") or ""))
            first, n = self.groups.get(key, (EventFacts(**ev), 0))
            if key in self.groups or len(self.groups) < self.max_groups:
                self.groups[key] = (first, n + 1)

    def report(self, *, source: str, now: datetime, since: str) -> Report:
        """The summary report printed when the proxy stops."""
        samples: list[EventFacts] = []
        for first, n in self.groups.values():
            samples.extend([first] * n)
        facts: ProxyRunFacts = {
            "file": source,
            "since": since,
            "total_events": self.count,
            "summary": {
                "events": self.count,
                "by_action": dict(self.by_action),
                "inspected": self.inspected,
                "by_finding": dict(self.by_finding),
                "bytes_up": self.bytes_up,
                "bytes_down": self.bytes_down,
            },
        }
        return Report(
            command="proxy",
            target=source,
            generated_at=_iso(now),
            facts=facts,
            findings=tuple(event_findings(samples)),
            tool_version=__version__,
        )


def events_report(
    events: Sequence[EventFacts],
    *,
    source: str,
    now: datetime,
    filters: EventFilters,
    total: int,
    command: str = "proxy events",
) -> Report:
    """``proxy events FILE``: the (filtered) events, a summary and findings per host."""
    facts: ProxyEventsFacts = {
        "file": source,
        "total_events": total,
        "filters": EventFilters(**filters),
        "summary": events_summary(events),
        "events": [EventFacts(**e) for e in events],
    }
    return Report(
        command=command,
        target=source,
        generated_at=_iso(now),
        facts=facts,
        findings=tuple(event_findings(events)),
        tool_version=__version__,
    )
