"""Ask for a certificate's revocation status (the I/O edge; judging lives in core.revocation).

Order, stopping at the first definitive answer (good or revoked):

1. the OCSP response the server stapled in the handshake, if any;
2. each OCSP responder in the leaf's AIA: ``POST`` with ``application/ocsp-request``; when the
   responder answers but not with a usable OCSP response (HTTP error, wrong body), the same
   request again as ``GET <url>/<url-encoded base64>`` (RFC 6960 appendix A);
3. each CRL distribution point (DER or PEM CRL).

A responder that cannot be reached gives an ``unknown`` status with the reason; it never
raises. A responder that is unreachable is not retried with GET (it would only double the wait).
"""

from __future__ import annotations

import base64
from datetime import datetime
from urllib.parse import quote

from cryptography import x509

from tlsdiag.core import certs as C
from tlsdiag.core.revocation import (
    UNKNOWN,
    RevocationStatus,
    evaluate_crl,
    evaluate_ocsp_response,
    ocsp_request_der,
)
from tlsdiag.net.pkifetch import HttpBody, fetch_url

MAX_OCSP_BYTES = 64 * 1024
MAX_CRL_BYTES = 20 * 1024 * 1024

OCSP_REQUEST = "application/ocsp-request"


def check_revocation(
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    *,
    stapled: bytes = b"",
    timeout: float,
    now: datetime,
    use_crl: bool = True,
) -> list[RevocationStatus]:
    """What each source asked said about ``leaf``, in the order asked.

    Args:
        leaf: the server certificate.
        issuer: the certificate that signed it (from the chain or fetched via AIA).
        stapled: the OCSP response stapled in the handshake (empty when none).
        timeout: seconds per request.
        now: the time to judge freshness at.
        use_crl: also try the CRL distribution points when OCSP gave no answer.

    Returns:
        One status per source asked; empty when the leaf names no responder or CRL and nothing
        was stapled. The last one is definitive (good/revoked) unless all sources failed.
    """
    out: list[RevocationStatus] = []
    if stapled:
        status = evaluate_ocsp_response(
            stapled, leaf=leaf, issuer=issuer, now=now, source="stapled OCSP"
        )
        out.append(status)
        if status.definitive:
            return out

    ocsp_urls = C.aia_urls(leaf)[1]
    if ocsp_urls:
        request = ocsp_request_der(leaf, issuer)
        for url in dict.fromkeys(ocsp_urls):
            status = ask_ocsp(url, request, leaf=leaf, issuer=issuer, timeout=timeout, now=now)
            out.append(status)
            if status.definitive:
                return out

    if use_crl:
        for url in dict.fromkeys(C.crl_urls(leaf)):
            status = fetch_crl_status(url, leaf=leaf, issuer=issuer, timeout=timeout, now=now)
            out.append(status)
            if status.definitive:
                return out
    return out


def ask_ocsp(
    url: str,
    request: bytes,
    *,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    timeout: float,
    now: datetime,
) -> RevocationStatus:
    """POST ``request`` to one responder (GET as fallback) and judge the answer."""
    source = f"OCSP {url}"
    posted = fetch_url(
        url,
        timeout=timeout,
        max_bytes=MAX_OCSP_BYTES,
        method="POST",
        content=request,
        headers={"Content-Type": OCSP_REQUEST, "Accept": "application/ocsp-response"},
    )
    if _unreachable(posted):
        return RevocationStatus(UNKNOWN, source, detail=f"responder unreachable: {posted.error}")
    if posted.ok:
        status = evaluate_ocsp_response(
            posted.body, leaf=leaf, issuer=issuer, now=now, source=source
        )
        if status.definitive:
            return status
        first = f"POST: {status.detail}"
    else:
        first = f"POST: {posted.error}"

    got = fetch_url(ocsp_get_url(url, request), timeout=timeout, max_bytes=MAX_OCSP_BYTES)
    if not got.ok:
        return RevocationStatus(UNKNOWN, source, detail=f"{first}; GET: {got.error}")
    status = evaluate_ocsp_response(got.body, leaf=leaf, issuer=issuer, now=now, source=source)
    if status.definitive:
        return status
    return RevocationStatus(UNKNOWN, source, detail=f"{first}; GET: {status.detail}")


def ocsp_get_url(url: str, request: bytes) -> str:
    """The RFC 6960 GET form: ``url/`` + URL-encoded base64 of the DER request."""
    encoded = quote(base64.b64encode(request).decode("ascii"), safe="")
    return url.rstrip("/") + "/" + encoded


def fetch_crl_status(
    url: str,
    *,
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    timeout: float,
    now: datetime,
) -> RevocationStatus:
    """Fetch one CRL and look the leaf up in it."""
    source = f"CRL {url}"
    got = fetch_url(url, timeout=timeout, max_bytes=MAX_CRL_BYTES)
    if not got.ok:
        what = "CRL unreachable" if _unreachable(got) else "CRL not served"
        return RevocationStatus(UNKNOWN, source, detail=f"{what}: {got.error}")
    return evaluate_crl(got.body, leaf=leaf, issuer=issuer, now=now, source=source)


def _unreachable(got: HttpBody) -> bool:
    """No HTTP answer at all (DNS, connect, timeout, scheme): a GET would not fare better."""
    return bool(got.error) and got.status == 0 and not got.error.startswith("body too large")
