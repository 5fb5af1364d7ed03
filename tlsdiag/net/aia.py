"""Fetch missing issuer certificates from AIA caIssuers URLs (the I/O edge of AIA completion).

``fetch_issuers`` fetches one URL and parses the body as DER, PEM or PKCS#7 (DER or PEM, the
``.p7c`` that many CAs publish). ``fetch_missing_issuers`` walks a presented chain: while the
last certificate's issuer is neither sent nor a trusted root, it fetches that certificate's
caIssuers URLs and keeps the certificate that really signed it (name and signature), up to a
few rounds. The path is then built and verified by ``tlsdiag.core.chain`` as usual.

Nothing here raises for network problems: each URL gets a :class:`FetchResult` with an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from cryptography import x509

from tlsdiag.core import certs as C
from tlsdiag.core.certfile import parse_certificates
from tlsdiag.core.chain import FetchedIssuer
from tlsdiag.errors import InputError
from tlsdiag.net.pkifetch import fetch_url

MAX_ISSUER_BYTES = 1024 * 1024
MAX_ROUNDS = 3
MAX_WORKERS = 8


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One caIssuers URL: the certificates it served, or why not."""

    url: str
    certs: tuple[x509.Certificate, ...] = ()
    error: str = ""
    content_type: str = ""
    seconds: float = 0.0
    status: int = 0

    @property
    def ok(self) -> bool:
        """True when the URL served at least one certificate."""
        return not self.error and bool(self.certs)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (certificates as subject names and SHA-256 fingerprints)."""
        return {
            "url": self.url,
            "ok": self.ok,
            "error": self.error,
            "status": self.status,
            "content_type": self.content_type,
            "seconds": self.seconds,
            "certificates": [
                {"subject": C.name_string(c.subject), "sha256": C.fingerprint(c)}
                for c in self.certs
            ],
        }


def fetch_issuers(url: str, *, timeout: float, max_bytes: int = MAX_ISSUER_BYTES) -> FetchResult:
    """Fetch the certificate(s) published at an AIA caIssuers URL.

    Args:
        url: an ``http://`` or ``https://`` URL (others give an error, e.g. ``ldap://``).
        timeout: seconds for the whole fetch.
        max_bytes: larger bodies are an error (1 MiB by default).

    Returns:
        The certificates, or an error string; never raises for network problems.
    """
    got = fetch_url(url, timeout=timeout, max_bytes=max_bytes)
    if got.error:
        return FetchResult(
            url,
            error=got.error,
            content_type=got.content_type,
            seconds=got.seconds,
            status=got.status,
        )
    if not got.body.strip():
        return FetchResult(
            url,
            error="empty body",
            content_type=got.content_type,
            seconds=got.seconds,
            status=got.status,
        )
    try:
        certs = parse_certificates(got.body, what=url)
    except InputError:
        shown = f", content-type {got.content_type}" if got.content_type else ""
        return FetchResult(
            url,
            error=f"the body is not a certificate (expected DER, PEM or PKCS#7{shown})",
            content_type=got.content_type,
            seconds=got.seconds,
            status=got.status,
        )
    if not certs:
        return FetchResult(
            url,
            error="the PKCS#7 bundle holds no certificate",
            content_type=got.content_type,
            seconds=got.seconds,
            status=got.status,
        )
    return FetchResult(
        url,
        certs=tuple(certs),
        content_type=got.content_type,
        seconds=got.seconds,
        status=got.status,
    )


def fetch_many(urls: Iterable[str], *, timeout: float) -> list[FetchResult]:
    """``fetch_issuers`` for each URL (concurrently when several), results in input order."""
    todo = list(dict.fromkeys(urls))
    if len(todo) <= 1:
        return [fetch_issuers(u, timeout=timeout) for u in todo]
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(todo))) as pool:
        return list(pool.map(lambda u: fetch_issuers(u, timeout=timeout), todo))


@dataclass(frozen=True, slots=True)
class AiaCompletion:
    """What AIA fetching added to a presented chain."""

    fetched: tuple[FetchedIssuer, ...] = ()  # issuers that signed a certificate of the path
    results: tuple[FetchResult, ...] = ()  # every URL tried, in order
    errors: dict[str, str] = field(default_factory=dict)  # URL -> why it gave no issuer

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "fetched": [
                {
                    "url": f.url,
                    "subject": C.name_string(f.cert.subject),
                    "sha256": C.fingerprint(f.cert),
                }
                for f in self.fetched
            ],
            "attempts": [r.to_dict() for r in self.results],
        }


def fetch_missing_issuers(
    presented: Sequence[x509.Certificate],
    *,
    roots: Sequence[x509.Certificate],
    timeout: float,
    max_rounds: int = MAX_ROUNDS,
) -> AiaCompletion:
    """Follow caIssuers URLs until the path reaches a root in ``roots`` (or gives up).

    A round starts from the last certificate of the path built so far (leaf, then the issuers
    that were sent or fetched). When its issuer is neither in ``roots`` nor among the known
    certificates, its caIssuers URLs are fetched and the fetched certificate that signed it is
    kept. Stops at a self-signed certificate, a trusted issuer, a certificate without AIA, when
    no fetched certificate signs it, or after ``max_rounds`` rounds.

    Args:
        presented: the chain as the server sent it, leaf first.
        roots: trust anchors of every root set the caller will verify against.
        timeout: seconds per fetch.
        max_rounds: how many issuers may be fetched one above the other.

    Returns:
        The issuers found (to pass to ``core.chain.analyze_chain(fetched=...)``), every fetch
        and the errors by URL.
    """
    if not presented:
        return AiaCompletion()
    known = list(presented)
    fetched: list[FetchedIssuer] = []
    results: list[FetchResult] = []
    errors: dict[str, str] = {}
    tried: set[str] = set()
    for _ in range(max_rounds):
        needing = _first_missing(presented[0], known, roots)
        if needing is None:
            break
        urls = [u for u in C.aia_urls(needing)[0] if u not in tried]
        if not urls:
            break
        tried.update(urls)
        round_results = fetch_many(urls, timeout=timeout)
        results.extend(round_results)
        found: FetchedIssuer | None = None
        for res in round_results:
            if res.error:
                errors[res.url] = res.error
                continue
            signer = next((c for c in res.certs if C.signed_by(needing, c)), None)
            if signer is None:
                errors[res.url] = (
                    f"served a certificate that did not sign {C.name_string(needing.subject)!r}"
                )
            elif found is None:
                found = FetchedIssuer(res.url, signer)
        if found is None:
            break
        fetched.append(found)
        known.append(found.cert)
    return AiaCompletion(tuple(fetched), tuple(results), errors)


def _first_missing(
    leaf: x509.Certificate,
    known: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
) -> x509.Certificate | None:
    """The certificate of the path whose issuer is missing (None when the path is complete)."""
    path = [leaf]
    current = leaf
    for _ in range(10):
        if C.is_self_signed(current) or any(C.signed_by(current, r) for r in roots):
            return None
        issuer = next(
            (c for c in known if all(c is not p for p in path) and C.signed_by(current, c)),
            None,
        )
        if issuer is None:
            return current
        path.append(issuer)
        current = issuer
    return None
