"""Going through an explicit HTTP proxy, as curl does: ``-x``, ``--proxy-user``, ``--noproxy``,
``HTTPS_PROXY`` / ``https_proxy`` / ``ALL_PROXY`` and ``NO_PROXY``.

``select_proxy`` picks the proxy (the environment is passed in, never read here);
``open_tunnel`` connects to it and sends ``CONNECT host:port``. A proxy that refuses the tunnel,
asks for authentication or answers with its own page is a *finding* (``policy.blocked``, the
page's title as evidence); a proxy that cannot be reached is a ``ProxyError`` (the user's
setting is wrong, not the target).
"""

from __future__ import annotations

import base64
import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from tlsdiag import __version__, codes
from tlsdiag.core.proxy_block import page_title
from tlsdiag.core.target import normalize_host, split_userinfo
from tlsdiag.errors import ProxyError
from tlsdiag.model import ConnectAttempt, ProbeFailure

DEFAULT_PROXY_PORT = 1080  # curl's default for a proxy URL without a port
MAX_HEAD = 16384
MAX_BODY = 65536
_ENV_ORDER = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@dataclass(frozen=True, slots=True)
class ProxyRoute:
    """The explicit proxy to tunnel through, and the hosts that go direct."""

    host: str
    port: int
    user: str = ""
    password: str = ""
    source: str = "-x"  # "-x", "--via", "HTTPS_PROXY", "https_proxy", "ALL_PROXY" ...
    noproxy: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """``http://host:port`` (never the password)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def describe(self) -> str:
        """``via proxy http://h:p (from HTTPS_PROXY)``, as the reports print it."""
        user = f", user {self.user}" if self.user else ""
        return f"via proxy {self.url} (from {self.source}{user})"

    def applies_to(self, host: str) -> bool:
        """False when ``--noproxy`` / ``NO_PROXY`` sends ``host`` direct (curl's rules)."""
        return not bypasses_proxy(host, self.noproxy)


def bypasses_proxy(host: str, noproxy: tuple[str, ...]) -> bool:
    """curl's ``NO_PROXY`` match: ``*`` is everything; an entry matches the host and its
    subdomains (a leading dot is ignored); IP entries match the address or a CIDR range."""
    host = host.lower().strip("[]").rstrip(".")
    for raw in noproxy:
        entry = raw.strip().lower().lstrip(".").rstrip(".")
        if not entry:
            continue
        if entry == "*":
            return True
        try:
            net = ipaddress.ip_network(entry.strip("[]"), strict=False)
        except ValueError:
            if host == entry or host.endswith("." + entry):
                return True
            continue
        try:
            if ipaddress.ip_address(host) in net:
                return True
        except ValueError:
            continue
    return False


_CONTROL = frozenset(chr(c) for c in (*range(0x20), 0x7F))


def _proxy_port(text: str, shown: str, source: str) -> int:
    if not text:
        return DEFAULT_PROXY_PORT
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise ValueError(f"{source} {shown}: bad port {text!r} (expected 1-65535)")
    return int(text)


def parse_proxy_url(url: str, *, source: str) -> ProxyRoute:
    """``[http://][user:password@]host[:port][/]`` as curl reads it.

    Messages never show the password: the URL is quoted without its ``user:password@`` part.

    Raises:
        ValueError: not an HTTP proxy URL (the message names ``source``).
    """
    text = url.strip()
    shown = repr(split_userinfo(url)[0])
    if any(c in _CONTROL for c in url):
        raise ValueError(f"{source} {shown}: control characters in the proxy URL")
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise ValueError(f"{source} {shown}: not a proxy URL ({exc})") from None
    if parts.scheme.lower() != "http":
        raise ValueError(
            f"{source} {shown}: only http:// proxies are supported (CONNECT over plain HTTP)"
        )
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ValueError(f"{source} {shown}: a proxy URL has no path: http://HOST:PORT")
    hostport = parts.netloc.rpartition("@")[2]
    if hostport.startswith("["):
        host, _, after = hostport.partition("]")
        host += "]"
        if after and not after.startswith(":"):
            raise ValueError(f"{source} {shown}: expected [IPv6]:PORT")
        port_text = after[1:]
    else:
        host, _, port_text = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    if not host:
        raise ValueError(f"{source} {shown}: no proxy host")
    try:
        host = normalize_host(host, split_userinfo(text)[0])[0]
    except ValueError as exc:
        raise ValueError(f"{source} {exc}") from None
    return ProxyRoute(
        host=host,
        port=_proxy_port(port_text, shown, source),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        source=source,
    )


def select_proxy(
    explicit: str | None,
    *,
    proxy_user: str | None,
    noproxy: str | None,
    env: Mapping[str, str],
) -> ProxyRoute | None:
    """The proxy to use: ``-x`` first (``-x ''`` means none), else the environment as curl
    reads it (``https_proxy``, ``HTTPS_PROXY``, ``all_proxy``, ``ALL_PROXY``).

    Raises:
        ValueError: a malformed proxy URL or ``--proxy-user`` value.
    """
    route: ProxyRoute | None = None
    if explicit is not None:
        if not explicit.strip():
            return None
        route = parse_proxy_url(explicit, source="-x")
    else:
        for name in _ENV_ORDER:
            value = env.get(name, "").strip()
            if value:
                route = parse_proxy_url(value, source=name)
                break
    if route is None:
        return None
    user, password = route.user, route.password
    if proxy_user is not None:
        user, sep, password = proxy_user.partition(":")
        if not user or not sep:
            raise ValueError("--proxy-user: expected USER:PASSWORD")
        if any(c in _CONTROL for c in proxy_user):  # never echoed: it holds a password
            raise ValueError(
                "--proxy-user: control characters (NUL, newline, tab) in USER:PASSWORD"
            )
    if any(c in _CONTROL for c in user + password):
        raise ValueError(f"{route.source}: control characters in the proxy user name or password")
    raw = noproxy if noproxy is not None else env.get("no_proxy", env.get("NO_PROXY", ""))
    entries = tuple(e.strip() for e in raw.split(",") if e.strip())
    return ProxyRoute(route.host, route.port, user, password, route.source, entries)


def _read_head(sock: socket.socket, deadline: float) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD:
            break
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _read_body(sock: socket.socket, head: bytes, rest: bytes, deadline: float) -> bytes:
    length = MAX_BODY
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = min(MAX_BODY, int(value.strip()))
    body = rest
    try:
        while len(body) < length and time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            chunk = sock.recv(8192)
            if not chunk:
                break
            body += chunk
    except OSError:
        pass
    return body[:length]


def refused_failure(
    status: int, reason: str, body: str, *, target: str, auth: bool
) -> ProbeFailure:
    """The finding-to-be for a proxy that answered CONNECT with something else than 200."""
    title = page_title(body)
    detail = f"the proxy answered {status} {reason}".strip()
    if title:
        detail += f"; block page title: {title!r}"
    if status == 407:
        what = "rejected the credentials" if auth else "asks for authentication"
        message = f"the proxy {what} (407) for CONNECT {target}"
        return ProbeFailure(codes.POLICY_BLOCKED, "proxy", message, detail)
    if status in (502, 503, 504):
        message = f"the proxy could not reach {target} ({status} {reason})".replace(" )", ")")
        return ProbeFailure(codes.NETWORK_CONNECT_FAILED, "proxy", message, detail)
    message = f"the proxy refused CONNECT {target} ({status} {reason})".replace(" )", ")")
    return ProbeFailure(codes.POLICY_BLOCKED, "proxy", message, detail)


def open_tunnel(
    route: ProxyRoute, host: str, port: int, timeout: float
) -> tuple[socket.socket | None, ProbeFailure | None, ConnectAttempt]:
    """Connect to the proxy and ask for a tunnel to ``host:port``.

    Returns:
        The tunnelled socket (or None), the failure when the proxy refused, and the TCP attempt.

    Raises:
        ProxyError: the proxy cannot be reached or does not speak HTTP.
    """
    start = time.monotonic()
    hint = "check -x/--proxy (or HTTPS_PROXY); -x '' or --noproxy HOST goes direct"
    try:
        sock = socket.create_connection((route.host, route.port), timeout=timeout)
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, socket.gaierror):
            why = f"the name does not resolve ({why})"
        raise ProxyError(
            f"cannot connect to the proxy {route.url} ({route.source}): {why}", hint=hint
        ) from exc
    attempt = ConnectAttempt(f"proxy {route.url}", "ok", route.describe(), time.monotonic() - start)
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [
        f"CONNECT {target} HTTP/1.1",
        f"Host: {target}",
        f"User-Agent: tlsdiag/{__version__}",
        "Proxy-Connection: keep-alive",
    ]
    if route.user:
        token = base64.b64encode(f"{route.user}:{route.password}".encode()).decode("ascii")
        lines.append(f"Proxy-Authorization: Basic {token}")
    deadline = time.monotonic() + timeout
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        head, rest = _read_head(sock, deadline)
    except OSError as exc:
        sock.close()
        why = "no answer in time" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise ProxyError(
            f"the proxy {route.url} ({route.source}) did not answer CONNECT: {why}", hint=hint
        ) from exc
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        sock.close()
        raise ProxyError(
            f"{route.url} ({route.source}) is not an HTTP proxy: it answered "
            f"{status_line[:60]!r} to CONNECT",
            hint=hint,
        )
    status, reason = int(parts[1]), parts[2].strip() if len(parts) > 2 else ""
    if 200 <= status < 300:
        return sock, None, attempt
    body = _read_body(sock, head, rest, deadline).decode("utf-8", "replace")
    sock.close()
    failure = refused_failure(status, reason, body, target=target, auth=bool(route.user))
    return None, failure, attempt
