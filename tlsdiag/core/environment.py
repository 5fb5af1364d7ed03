"""Shape what the environment edge read: proxy settings per platform, DNS servers, clock skew
(pure parsers of recorded command output and file text)."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from tlsdiag.core.redact import redact_proxy_value

if TYPE_CHECKING:
    from tlsdiag.facts.bundle import ClockFacts, PlatformProxyFacts, ResolvConfFacts

PROXY_ENV = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)


def proxy_env(env: Mapping[str, str]) -> dict[str, str]:
    """The proxy variables that are set, credentials masked."""
    return {k: redact_proxy_value(env[k]) for k in PROXY_ENV if env.get(k)}


def parse_resolv_conf(text: str) -> ResolvConfFacts:
    """``nameserver``, ``search`` and ``options`` lines of ``/etc/resolv.conf``."""
    out: ResolvConfFacts = {"nameservers": [], "search": [], "options": []}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) < 2:
            continue
        if words[0] == "nameserver":
            out["nameservers"].append(words[1])
        elif words[0] in {"search", "domain"}:
            out["search"].extend(words[1:])
        elif words[0] == "options":
            out["options"].extend(words[1:])
    return out


def parse_scutil_proxy(text: str) -> PlatformProxyFacts:
    """The output of macOS ``scutil --proxy`` as the proxy block of ``env.json``."""
    values: dict[str, str] = {}
    exceptions: list[str] = []
    in_list = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("ExceptionsList") and "<array>" in line:
            in_list = True
            continue
        if in_list:
            if line.startswith("}"):
                in_list = False
            elif ":" in line:
                exceptions.append(line.split(":", 1)[1].strip())
            continue
        if " : " in line:
            key, value = line.split(" : ", 1)
            values[key.strip()] = value.strip()
    out: dict[str, Any] = {"source": "scutil --proxy", "mode": "none"}
    for scheme in ("HTTP", "HTTPS"):
        if values.get(f"{scheme}Enable") == "1":
            host, port = values.get(f"{scheme}Proxy", ""), values.get(f"{scheme}Port", "")
            out[scheme.lower()] = f"{host}:{port}" if port else host
            out["mode"] = "manual"
    if values.get("ProxyAutoConfigEnable") == "1":
        out["pac_url"] = redact_proxy_value(values.get("ProxyAutoConfigURLString", ""))
        out["mode"] = "auto"
    if values.get("ProxyAutoDiscoveryEnable") == "1":
        out["wpad"] = True
        out["mode"] = "auto" if out["mode"] == "none" else out["mode"]
    if exceptions:
        out["exceptions"] = exceptions
    return out


def _gvalue(text: str) -> Any:
    text = text.strip()
    if text.startswith("@as "):
        text = text[4:]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text.strip("'")


def parse_gsettings_proxy(values: Mapping[str, str]) -> PlatformProxyFacts:
    """``gsettings get`` answers (key -> printed value) of GNOME's ``org.gnome.system.proxy``.

    Keys: ``mode``, ``autoconfig-url``, ``ignore-hosts``, ``http.host``, ``http.port``,
    ``https.host``, ``https.port``.
    """
    mode = str(_gvalue(values.get("mode", "'none'")))
    out: dict[str, Any] = {"source": "gsettings org.gnome.system.proxy", "mode": mode}
    if mode == "auto":
        out["pac_url"] = redact_proxy_value(str(_gvalue(values.get("autoconfig-url", "''"))))
    if mode == "manual":
        for scheme in ("http", "https"):
            host = str(_gvalue(values.get(f"{scheme}.host", "''")))
            port = _gvalue(values.get(f"{scheme}.port", "0"))
            if host:
                out[scheme] = f"{host}:{port}" if port else host
    ignore = _gvalue(values.get("ignore-hosts", "[]"))
    if isinstance(ignore, list) and ignore and mode != "none":
        out["exceptions"] = [str(i) for i in ignore]
    return out


def parse_windows_proxy(values: Mapping[str, Any]) -> PlatformProxyFacts:
    """The ``Internet Settings`` registry values of the current user (WinINet)."""
    out: dict[str, Any] = {"source": r"HKCU\...\Internet Settings", "mode": "none"}
    if int(values.get("ProxyEnable") or 0):
        server = str(values.get("ProxyServer") or "")
        out["mode"] = "manual"
        if "=" in server:
            for part in server.split(";"):
                if "=" in part:
                    k, v = part.split("=", 1)
                    out[k.strip().lower()] = redact_proxy_value(v.strip())
        else:
            out["http"] = out["https"] = redact_proxy_value(server)
        override = str(values.get("ProxyOverride") or "")
        if override:
            out["exceptions"] = [p for p in override.split(";") if p]
    if values.get("AutoConfigURL"):
        out["pac_url"] = redact_proxy_value(str(values["AutoConfigURL"]))
        out["mode"] = "auto"
    return out


_NETSH_DIRECT = re.compile(r"Direct access \(no proxy server\)", re.I)


def parse_netsh_winhttp(text: str) -> PlatformProxyFacts:
    """``netsh winhttp show proxy``: the machine-wide WinHTTP proxy (services, PowerShell 5)."""
    if _NETSH_DIRECT.search(text):
        return {"source": "netsh winhttp show proxy", "mode": "none"}
    out: dict[str, Any] = {"source": "netsh winhttp show proxy", "mode": "manual"}
    for line in text.splitlines():
        if ":" in line:
            key, value = (p.strip() for p in line.split(":", 1))
            if key.lower().startswith("proxy server"):
                out["server"] = redact_proxy_value(value)
            elif key.lower().startswith("bypass list"):
                out["exceptions"] = [p for p in value.split(";") if p]
    return out


def clock_skew(local_utc: datetime, server_date: str, *, host: str) -> ClockFacts:
    """This clock minus a server's ``Date`` header (positive: this clock is ahead).

    Args:
        local_utc: the local clock when the answer arrived (aware).
        server_date: the ``Date`` header (RFC 7231).
        host: whose header it was.

    Returns:
        ``host``, ``server_date``, ``local_utc``, ``skew_seconds`` (None when unreadable) and
        the precision (one second, the header's resolution, plus the request's duration).
    """
    out: ClockFacts = {
        "host": host,
        "server_date": server_date,
        "local_utc": local_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "skew_seconds": None,
        "precision": "about 1 s (the Date header's resolution)",
    }
    try:
        server = parsedate_to_datetime(server_date)
    except (TypeError, ValueError, IndexError):
        return out
    if server.tzinfo is None:
        return out
    out["skew_seconds"] = round((local_utc - server).total_seconds())
    return out
