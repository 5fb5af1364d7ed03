"""The data model shared by every command: findings, probe records, reports.

Everything here is a frozen dataclass (or a StrEnum) so that core functions can take and
return plain, comparable data. ``Report.facts`` holds the command-specific facts as JSON-ready
values (str, int, float, bool, None, lists and dicts of those); their schema per command is in
``tlsdiag.facts`` (one ``TypedDict`` family per command, shared by producers and renderers).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tlsdiag.facts.ids import Platform

if TYPE_CHECKING:
    from tlsdiag.facts.check import CertFacts
    from tlsdiag.facts.machine import MachineFacts

SCHEMA = "tlsdiag.report"
SCHEMA_VERSION = 1


class Severity(StrEnum):
    """How bad a finding is: ``error`` breaks it, ``warning`` is risky, ``info`` is a fact."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Sort key: errors first."""
        return {"error": 0, "warning": 1, "info": 2}[self.value]


class Format(StrEnum):
    """Output formats of every command."""

    CONSOLE = "console"
    JSON = "json"
    HTML = "html"


@dataclass(frozen=True, slots=True)
class Finding:
    """One diagnosis: a stable code, what was seen, the evidence and the next step."""

    code: str
    severity: Severity
    title: str
    detail: str = ""
    evidence: Mapping[str, str] = field(default_factory=dict)
    remediation: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (keys as documented in the README)."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "title": self.title,
            "detail": self.detail,
            "evidence": dict(self.evidence),
            "remediation": self.remediation,
        }


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed command-line target (``host``, ``host:port``, URL, IP literal)."""

    raw: str
    host: str  # A-label form, lower case; IP literals without brackets
    port: int = 443
    path: str = "/"
    unicode_host: str = ""  # U-label form when the input was an IDN, else equal to host
    is_ip: bool = False

    @property
    def display(self) -> str:
        """``host:port`` with IPv6 literals bracketed."""
        h = f"[{self.host}]" if ":" in self.host else self.host
        return f"{h}:{self.port}"


@dataclass(frozen=True, slots=True)
class CertSummary:
    """What a person needs to see of one certificate (derived from its DER)."""

    position: int
    subject: str
    issuer: str
    subject_cn: str
    issuer_cn: str
    issuer_o: str
    serial: str
    not_before: str  # ISO 8601 UTC
    not_after: str
    key: str  # "RSA 2048", "EC P-256", "Ed25519"
    key_bits: int
    signature: str  # "sha256WithRSAEncryption"
    signature_hash: str  # "sha256", "sha1", "md5", "" (EdDSA)
    sha256: str  # fingerprint, hex, lower case
    san_dns: tuple[str, ...] = ()
    san_ip: tuple[str, ...] = ()
    is_ca: bool = False
    self_issued: bool = False
    aia_ca_issuers: tuple[str, ...] = ()
    aia_ocsp: tuple[str, ...] = ()
    crl_urls: tuple[str, ...] = ()
    sct_count: int = 0

    def to_dict(self) -> CertFacts:
        """JSON-ready form."""
        return {
            "position": self.position,
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": self.serial,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "key": self.key,
            "signature": self.signature,
            "sha256": self.sha256,
            "san_dns": list(self.san_dns),
            "san_ip": list(self.san_ip),
            "is_ca": self.is_ca,
            "self_issued": self.self_issued,
            "aia_ca_issuers": list(self.aia_ca_issuers),
            "aia_ocsp": list(self.aia_ocsp),
            "crl_urls": list(self.crl_urls),
            "sct_count": self.sct_count,
        }


@dataclass(frozen=True, slots=True)
class ConnectAttempt:
    """One TCP connection attempt to one address."""

    address: str
    outcome: str  # "ok", "refused", "timeout", "unreachable", "error"
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """How the name was resolved."""

    name: str
    addresses: tuple[str, ...] = ()
    cname_chain: tuple[str, ...] = ()
    source: str = ""  # "--resolve", "literal", "dns 10.0.0.53", "system resolver"
    error: str = ""
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class CertRequest:
    """The server's CertificateRequest (mutual TLS)."""

    ca_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Handshake:
    """A completed (or attempted) TLS handshake, as the client saw it."""

    version: str = ""  # "TLSv1.3"
    cipher: str = ""
    cipher_bits: int = 0
    alpn: str = ""
    sni: str = ""  # what we sent; "" when --no-sni
    chain_der: tuple[bytes, ...] = ()  # exactly as the server sent it, in its order
    cert_request: CertRequest | None = None
    alerts_received: tuple[str, ...] = ()  # "fatal handshake_failure"
    alerts_sent: tuple[str, ...] = ()
    dh_bits: int = 0  # finite-field DH group size offered by the server (TLS 1.2 DHE)
    ocsp_stapled: bytes = b""
    seconds: float = 0.0
    settings: str = "default"  # "default" or "legacy" (TLS 1.0+, @SECLEVEL=0)


@dataclass(frozen=True, slots=True)
class HttpInfo:
    """The small HTTP request made after the handshake."""

    status: int = 0
    reason: str = ""
    date: str = ""  # the Date header as sent
    server: str = ""
    body_excerpt: str = ""
    error: str = ""


@dataclass(frozen=True, slots=True)
class ProbeFailure:
    """Why the probe could not complete, classified once at the network edge."""

    code: str  # a codes.* constant
    stage: str  # "dns", "connect", "handshake", "http"
    message: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Everything the probe recorded for one target."""

    target: Target
    sni: str
    dns: DnsAnswer
    connects: tuple[ConnectAttempt, ...] = ()
    address: str = ""  # the address the handshake ran on
    port: int = 0  # the port it ran on (``--connect-to`` may move it)
    handshake: Handshake | None = None
    legacy: Handshake | None = None  # the retry with old versions / weak ciphers allowed
    failed_handshake: Handshake | None = None  # what was seen of a handshake that failed
    failure: ProbeFailure | None = None
    http: HttpInfo | None = None
    started_at: str = ""  # ISO 8601 UTC of the local clock when the probe started
    proxy: str = ""  # "via proxy http://h:p (from HTTPS_PROXY)" when tunnelled


@dataclass(frozen=True, slots=True)
class Report:
    """What every command returns: facts plus findings, rendered as console, JSON or HTML."""

    command: str
    target: str
    generated_at: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    tool_version: str = ""
    schema_version: int = SCHEMA_VERSION
    machine: MachineFacts | None = None  # who ran it where (trust, check); see README

    @property
    def has_errors(self) -> bool:
        """True when any finding is an error."""
        return any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def exit_code(self) -> int:
        """0 when no error finding, 1 otherwise."""
        return 1 if self.has_errors else 0

    def sorted_findings(self) -> tuple[Finding, ...]:
        """Errors first, then warnings, then info; stable otherwise."""
        return tuple(sorted(self.findings, key=lambda f: f.severity.rank))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the envelope, the facts at top level, then the findings."""
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "schema_version": self.schema_version,
            "tool_version": self.tool_version,
            "command": self.command,
            "target": self.target,
            "generated_at": self.generated_at,
        }
        if self.machine is not None:
            out["machine"] = dict(self.machine)
        for key, value in self.facts.items():
            if key in out or key == "findings":
                raise ValueError(f"fact {key!r} collides with a report envelope key")
            out[key] = value
        out["findings"] = [f.to_dict() for f in self.sorted_findings()]
        return out


OS_PLATFORMS = (Platform.LINUX, Platform.MACOS, Platform.WINDOWS)


def platform_name(value: str | None = None, *, other: str | None = None) -> str:
    """The one place that names operating systems: ``linux``, ``macos`` or ``windows``.

    Args:
        value: a ``sys.platform`` value or a user's spelling (``darwin``, ``win32``, ``MacOS``);
            this machine's ``sys.platform`` when None.
        other: what to return for any other OS (None: its own lower-case name, ``freebsd14``).

    Returns:
        The normalised name.
    """
    v = (sys.platform if value is None else value).lower()
    if v.startswith("linux"):
        return Platform.LINUX
    if v in ("darwin", "macos"):
        return Platform.MACOS
    if v.startswith("win"):
        return Platform.WINDOWS
    return v if other is None else other
