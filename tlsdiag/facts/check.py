"""Facts of ``check``, ``probe`` and ``chain``: the probe record, the chain and its trust."""

from __future__ import annotations

from typing import TYPE_CHECKING, NotRequired, TypedDict, cast

from tlsdiag.facts.ids import RootSetId

if TYPE_CHECKING:
    from tlsdiag.model import Report


class EndpointFacts(TypedDict):
    """What was asked for and where the handshake ran."""

    input: str
    host: str
    unicode_host: str
    port: int
    path: str
    sni: str
    address: str
    proxy: NotRequired[str]  # "via proxy X (from HTTPS_PROXY)", only when one was used


class DnsFacts(TypedDict):
    """How the name was resolved."""

    name: str
    addresses: list[str]
    cname_chain: list[str]
    source: str
    error: str


class ConnectFacts(TypedDict):
    """One TCP connection attempt."""

    address: str
    outcome: str
    message: str
    ms: float


class HandshakeFacts(TypedDict):
    """The negotiated (or attempted) handshake."""

    version: str
    cipher: str
    cipher_bits: int
    alpn: str
    sni: str
    settings: str
    client_certificate_requested: bool
    client_ca_names: list[str]
    alerts_received: list[str]
    alerts_sent: list[str]
    dh_bits: int
    ocsp_stapled: bool
    certificates_sent: int


class HttpFacts(TypedDict):
    """The HTTP request made after the handshake."""

    status: int
    reason: str
    date: str
    server: str
    error: str


class TimingFacts(TypedDict):
    """Milliseconds per step."""

    dns: float
    connect: float
    handshake: float


class CertFacts(TypedDict):
    """One certificate as sent (``CertSummary.to_dict``)."""

    position: int
    subject: str
    issuer: str
    serial: str
    not_before: str
    not_after: str
    key: str
    signature: str
    sha256: str
    san_dns: list[str]
    san_ip: list[str]
    is_ca: bool
    self_issued: bool
    aia_ca_issuers: list[str]
    aia_ocsp: list[str]
    crl_urls: list[str]
    sct_count: int


class PathEntry(TypedDict):
    """One certificate of the built path and where it came from."""

    subject: str
    sha256: str
    source: str  # "sent", "fetched (AIA url)", "trust store: os, --cafile"


class TrustVerdict(TypedDict):
    """Whether one root set accepts the chain; the verifier's words are evidence only."""

    trusted: bool
    message: str


class InterceptionFacts(TypedDict):
    """The interception verdict (``core.issuer.verdict.Interception.to_dict``)."""

    inspected: bool
    tls_inspection: int
    vendor: str | None
    vendor_id: str | None
    kind: str | None
    confidence: str
    reasons: list[str]
    issuer: str
    root: str
    root_sha256: str
    public_root: bool


class RevocationFacts(TypedDict):
    """One revocation source's answer."""

    status: str
    source: str
    detail: str
    reason: NotRequired[str]
    revoked_at: NotRequired[str]


class ChainFacts(TypedDict):
    """The chain as sent, the built path, and which root sets trust it."""

    chain: list[CertFacts]
    path: list[PathEntry]
    trust: dict[RootSetId, TrustVerdict]


class BrowserHelloFacts(TypedDict):
    """What a browser-sized ClientHello (post-quantum key share) and its small twin got."""

    bytes: int
    answer: str
    small_hello_answer: NotRequired[str]  # sent only when the browser-sized one got no answer


class CheckFacts(TypedDict):
    """``check`` (and ``probe``): only the probe parts when no certificate was seen."""

    endpoint: EndpointFacts
    dns: DnsFacts
    connect: list[ConnectFacts]
    handshake: HandshakeFacts | None
    chain: NotRequired[list[CertFacts]]
    path: NotRequired[list[PathEntry]]
    trust: NotRequired[dict[RootSetId, TrustVerdict]]
    interception: NotRequired[InterceptionFacts | None]
    revocation: NotRequired[list[RevocationFacts]]
    http: NotRequired[HttpFacts | None]
    browser_hello: NotRequired[BrowserHelloFacts]
    timings_ms: NotRequired[TimingFacts]  # always there; set last so that it ends the JSON
    pem: NotRequired[list[str]]  # probe --showcerts


class ChainCommandFacts(TypedDict):
    """``chain``: where the certificates came from, the name checked, ``ChainFacts``, then how
    it was judged (``at_time`` and ``roots`` only when ``--at-time`` or ``--cafile-only``)."""

    source: str
    host: str | None
    chain: list[CertFacts]
    path: list[PathEntry]
    trust: dict[RootSetId, TrustVerdict]
    name_check: str  # "done", or "not done (no --host given)"
    interception: InterceptionFacts | None
    at_time: NotRequired[str]  # --at-time, ISO 8601 UTC
    roots: NotRequired[str]  # "--cafile only"


def check_facts(report: Report) -> CheckFacts:
    """The typed facts of a ``check``, ``probe`` or ``demo`` case report.

    Args:
        report: a report built by ``tlsdiag.commands.check``.

    Returns:
        Its facts, typed.
    """
    return cast("CheckFacts", report.facts)
