"""Small, bounded HTTP fetches for PKI objects: AIA issuers, OCSP responses, CRLs.

One place turns every network problem into an error string (never an exception): unsupported
URL scheme, DNS failure, refused connection, timeout, too many redirects, HTTP error status, a
body over the size limit. Callers get a :class:`HttpBody` and decide what it means.

The standard library's ``http.client`` is enough for one GET or POST of a few kilobytes, and
importing it costs a tenth of a full HTTP client (``check`` asks an OCSP responder on every run).

TLS certificates of ``https://`` PKI URLs are not verified: everything fetched here is signed
data that is checked afterwards (an issuer must sign the certificate below it, an OCSP response
or CRL must verify with the issuer's key), and an inspecting proxy often re-signs these URLs
with a root this process may not trust. Plain ``http://`` is what CAs publish (RFC 5280, 5019).
"""

from __future__ import annotations

import http.client
import ipaddress
import ssl
import threading
import time
from typing import NamedTuple
from urllib.parse import SplitResult, urljoin, urlsplit

from tlsdiag import __version__

MAX_REDIRECTS = 3


class HttpBody(NamedTuple):
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

    The deadline is for the whole fetch (connect, redirects, headers and body): socket timeouts
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
    current = url
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            conn, resp = _request(parts, method, content, req_headers, timeout)
            try:
                location = resp.getheader("location")
                if resp.status in _REDIRECTS and location:
                    current = urljoin(current, location.strip())
                    parts = urlsplit(current)
                    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                        return done(error=f"redirected to an unsupported URL: {current}")
                    if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                        method, content = "GET", None
                    continue
                ctype = resp.getheader("content-type", "") or ""
                if resp.status >= 400 or resp.status < 200:
                    return done(
                        error=f"HTTP {resp.status} {resp.reason}".rstrip(),
                        status=resp.status,
                        content_type=ctype,
                        final_url=current,
                    )
                declared = resp.getheader("content-length", "") or ""
                if declared.isdigit() and int(declared) > max_bytes:
                    return done(
                        error=f"body too large ({int(declared)} bytes, limit {max_bytes})",
                        status=resp.status,
                        content_type=ctype,
                        final_url=current,
                    )
                chunks: list[bytes] = []
                size = 0
                while chunk := resp.read(min(_CHUNK, max_bytes + 1 - size)):
                    size += len(chunk)
                    if size > max_bytes:
                        return done(
                            error=f"body too large (over {max_bytes} bytes)",
                            status=resp.status,
                            content_type=ctype,
                            final_url=current,
                        )
                    if time.monotonic() - start > timeout:
                        return done(error=f"timed out after {timeout:g} s (body still arriving)")
                    chunks.append(chunk)
                return done(
                    body=b"".join(chunks),
                    status=resp.status,
                    content_type=ctype,
                    final_url=current,
                )
            finally:
                conn.close()
        return done(error=f"more than {MAX_REDIRECTS} redirects")
    except TimeoutError:
        return done(error=f"timed out after {timeout:g} s")
    except _ConnectFailed as exc:
        return done(error=f"cannot connect: {_reason(exc.cause)}")
    except http.client.HTTPException as exc:  # protocol errors: bad status line, headers ...
        return done(error=f"{type(exc).__name__}: {_reason(exc)}")
    except (OSError, ValueError) as exc:
        return done(error=f"{type(exc).__name__}: {exc}")


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 65536


class _ConnectFailed(Exception):
    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _unverified_context() -> ssl.SSLContext:
    """TLS for https PKI URLs without verification (signed data; see the module docstring)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _proxy(parts: SplitResult) -> SplitResult | None:
    """The proxy the environment names for this URL (``HTTP_PROXY``, ``HTTPS_PROXY``,
    ``NO_PROXY`` ...); never for loopback hosts."""
    host = parts.hostname or ""
    if _is_loopback(host):
        return None
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    # the environment-only bypass check; public in urllib.request, missing from typeshed
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    scheme = parts.scheme.lower()
    chosen = proxies.get(scheme) or proxies.get("all")
    if not chosen or bypass(host, proxies):
        return None
    proxy = urlsplit(chosen if "://" in chosen else f"http://{chosen}")
    return proxy if proxy.hostname else None


def _request(
    parts: SplitResult,
    method: str,
    content: bytes | None,
    headers: dict[str, str],
    timeout: float,
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """Connect (directly or through the environment's proxy) and send one request."""
    https = parts.scheme.lower() == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = _proxy(parts)
    conn: http.client.HTTPConnection
    if proxy is None:
        conn = (
            http.client.HTTPSConnection(host, port, timeout=timeout, context=_unverified_context())
            if https
            else http.client.HTTPConnection(host, port, timeout=timeout)
        )
    elif https:
        conn = http.client.HTTPSConnection(
            proxy.hostname or "", proxy.port or 80, timeout=timeout, context=_unverified_context()
        )
        conn.set_tunnel(host, port)
    else:
        conn = http.client.HTTPConnection(proxy.hostname or "", proxy.port or 80, timeout=timeout)
        target = parts.geturl()
    try:
        conn.connect()
    except TimeoutError:
        conn.close()
        raise
    except OSError as exc:
        conn.close()
        raise _ConnectFailed(exc) from exc
    try:
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        conn.request(method, target, body=content, headers={"Host": netloc, **headers})
        return conn, conn.getresponse()
    except BaseException:
        conn.close()
        raise


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
