"""Small, bounded HTTP fetches for PKI objects: AIA issuers, OCSP responses, CRLs (httpx).

One place turns every network problem into an error string (never an exception): unsupported
URL scheme, DNS failure, refused connection, timeout, too many redirects, HTTP error status, a
body over the size limit. Callers get a :class:`HttpBody` and decide what it means.

TLS certificates of ``https://`` PKI URLs are not verified: everything fetched here is signed
data that is checked afterwards (an issuer must sign the certificate below it, an OCSP response
or CRL must verify with the issuer's key), and an inspecting proxy often re-signs these URLs
with a root this process may not trust. Plain ``http://`` is what CAs publish (RFC 5280, 5019).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from tlsdiag import __version__

MAX_REDIRECTS = 3


@dataclass(frozen=True, slots=True)
class HttpBody:
    """The outcome of one fetch: a body, or an error in plain words."""

    url: str
    body: bytes = b""
    status: int = 0
    content_type: str = ""
    error: str = ""
    seconds: float = 0.0
    final_url: str = ""

    @property
    def ok(self) -> bool:
        """True when a 2xx body was read completely."""
        return not self.error


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch_url(
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    method: str = "GET",
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> HttpBody:
    """Fetch ``url`` (http or https only), following at most 3 redirects, reading at most
    ``max_bytes``, within ``timeout`` seconds in total.

    The deadline is for the whole fetch (connect, redirects, headers and body): httpx's timeouts
    are per read, so a server that drips its headers one byte at a time would hold a per-read
    timeout forever. The fetch runs in a daemon thread that is abandoned (and ends on its own
    read timeout) when the deadline passes.

    Proxy environment variables are honoured (as real clients behind a proxy would do), except
    for loopback hosts.

    Args:
        url: the URL from a certificate.
        timeout: seconds for the whole fetch (also the connect and read timeout).
        max_bytes: larger bodies are an error.
        method: "GET" or "POST".
        content: the request body for POST.
        headers: extra request headers.

    Returns:
        The body, or an error string; never raises for network problems.
    """
    start = time.monotonic()
    box: list[HttpBody] = []

    def work() -> None:
        box.append(
            _fetch(
                url,
                timeout=timeout,
                max_bytes=max_bytes,
                method=method,
                content=content,
                headers=headers,
                start=start,
            )
        )

    worker = threading.Thread(target=work, name="tlsdiag-fetch", daemon=True)
    worker.start()
    worker.join(timeout)
    if box:
        return box[0]
    return HttpBody(
        url=url,
        body=b"",
        status=0,
        content_type="",
        error=f"timed out after {timeout:g} s (no complete answer in time)",
        seconds=round(time.monotonic() - start, 3),
        final_url="",
    )


def _fetch(
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    method: str,
    content: bytes | None,
    headers: dict[str, str] | None,
    start: float,
) -> HttpBody:
    """``fetch_url`` without the total deadline (run in its worker thread)."""

    def done(
        *,
        body: bytes = b"",
        status: int = 0,
        content_type: str = "",
        error: str = "",
        final_url: str = "",
    ) -> HttpBody:
        return HttpBody(
            url=url,
            body=body,
            status=status,
            content_type=content_type,
            error=error,
            seconds=round(time.monotonic() - start, 3),
            final_url=final_url,
        )

    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return done(error=f"malformed URL: {exc}")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = scheme or "(none)"
        return done(error=f"unsupported URL scheme {shown!r} (only http and https are fetched)")
    if not parts.hostname:
        return done(error="malformed URL: no host")

    req_headers = {"User-Agent": f"tlsdiag/{__version__}", **(headers or {})}
    try:
        with (
            httpx.Client(
                timeout=httpx.Timeout(timeout),
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                verify=False,  # signed data, checked after the fetch (see module docstring)
                trust_env=not _is_loopback(parts.hostname),
            ) as client,
            client.stream(method, url, content=content, headers=req_headers) as resp,
        ):
            ctype = resp.headers.get("content-type", "")
            final = str(resp.url)
            if resp.status_code >= 400 or resp.status_code < 200:
                return done(
                    error=f"HTTP {resp.status_code} {resp.reason_phrase}".rstrip(),
                    status=resp.status_code,
                    content_type=ctype,
                    final_url=final,
                )
            declared = resp.headers.get("content-length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
                return done(
                    error=f"body too large ({int(declared)} bytes, limit {max_bytes})",
                    status=resp.status_code,
                    content_type=ctype,
                    final_url=final,
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    return done(
                        error=f"body too large (over {max_bytes} bytes)",
                        status=resp.status_code,
                        content_type=ctype,
                        final_url=final,
                    )
                if time.monotonic() - start > timeout:
                    return done(error=f"timed out after {timeout:g} s (body still arriving)")
                chunks.append(chunk)
            return done(
                body=b"".join(chunks),
                status=resp.status_code,
                content_type=ctype,
                final_url=final,
            )
    except httpx.TooManyRedirects:
        return done(error=f"more than {MAX_REDIRECTS} redirects")
    except httpx.TimeoutException:
        return done(error=f"timed out after {timeout:g} s")
    except httpx.UnsupportedProtocol as exc:
        return done(error=f"redirected to an unsupported URL: {exc}")
    except httpx.ConnectError as exc:
        return done(error=f"cannot connect: {_reason(exc)}")
    except httpx.HTTPError as exc:  # protocol errors, invalid URLs, decoding ...
        return done(error=f"{type(exc).__name__}: {_reason(exc)}")
    except (OSError, ValueError) as exc:
        return done(error=f"{type(exc).__name__}: {exc}")


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
