"""Read the environment a support ticket needs (I/O edge for ``bundle``): OS and versions, local
time, time zone, proxy settings (environment and the platform's own: GNOME gsettings, macOS
``scutil --proxy``, the Windows registry and WinHTTP), DNS servers. Nothing secret: proxy
credentials are masked, and the machine block is the one of ``trust``/``check`` reports."""

from __future__ import annotations

import os
import platform
import shutil
import ssl
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlsdiag import __version__
from tlsdiag.core.environment import (
    parse_gsettings_proxy,
    parse_netsh_winhttp,
    parse_resolv_conf,
    parse_scutil_proxy,
    parse_windows_proxy,
    proxy_env,
)
from tlsdiag.core.machine import machine_block

if TYPE_CHECKING:
    from tlsdiag.facts.bundle import DnsFacts, EnvironmentFacts, PlatformProxyFacts

Runner = Callable[[list[str]], str | None]
RESOLV_CONF = Path("/etc/resolv.conf")
_GSETTINGS = (
    ("mode", "org.gnome.system.proxy", "mode"),
    ("autoconfig-url", "org.gnome.system.proxy", "autoconfig-url"),
    ("ignore-hosts", "org.gnome.system.proxy", "ignore-hosts"),
    ("http.host", "org.gnome.system.proxy.http", "host"),
    ("http.port", "org.gnome.system.proxy.http", "port"),
    ("https.host", "org.gnome.system.proxy.https", "host"),
    ("https.port", "org.gnome.system.proxy.https", "port"),
)


def run_quietly(cmd: list[str]) -> str | None:
    """The standard output of ``cmd``, or None when it is missing, fails or takes over 5 s."""
    if shutil.which(cmd[0]) is None:
        return None
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


def _gsettings(run: Runner) -> PlatformProxyFacts | None:
    values: dict[str, str] = {}
    for key, schema, name in _GSETTINGS:
        out = run(["gsettings", "get", schema, name])
        if out is None:
            return None if not values else parse_gsettings_proxy(values)
        values[key] = out.strip()
    return parse_gsettings_proxy(values)


def _windows_registry() -> PlatformProxyFacts | None:
    values: dict[str, Any] = {}
    if sys.platform == "win32":
        import winreg

        path = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings"
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, path) as key:
                for name in ("ProxyEnable", "ProxyServer", "ProxyOverride", "AutoConfigURL"):
                    try:
                        values[name] = winreg.QueryValueEx(key, name)[0]
                    except OSError:
                        continue
        except OSError:
            return None
        return parse_windows_proxy(values)
    return None


def platform_proxy(system: str, run: Runner = run_quietly) -> list[PlatformProxyFacts]:
    """The platform's configured proxy or PAC URL, where it can be read.

    Args:
        system: ``sys.platform``.
        run: runs a command and returns its output (tests pass recorded output).
    """
    found: list[PlatformProxyFacts] = []
    if system == "darwin":
        out = run(["scutil", "--proxy"])
        if out is not None:
            found.append(parse_scutil_proxy(out))
    elif system == "win32":
        reg = _windows_registry()
        if reg is not None:
            found.append(reg)
        out = run(["netsh", "winhttp", "show", "proxy"])
        if out is not None:
            found.append(parse_netsh_winhttp(out))
    else:
        gs = _gsettings(run)
        if gs is not None:
            found.append(gs)
    return found


def dns_servers(path: Path = RESOLV_CONF) -> DnsFacts:
    """The resolvers of ``/etc/resolv.conf`` (where it exists)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return {"source": str(path), "error": exc.strerror or str(exc)}
    conf = parse_resolv_conf(text)
    return {
        "source": str(path),
        "nameservers": conf["nameservers"],
        "search": conf["search"],
        "options": conf["options"],
    }


def collect_environment(
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
    *,
    run: Runner = run_quietly,
) -> EnvironmentFacts:
    """The ``env.json`` facts of a bundle (clock skew is added by the command from a server).

    Args:
        env: the environment variables (default ``os.environ``).
        now: the time of the run (aware; default the clock).
        run: command runner (tests pass recorded output).
    """
    from tlsdiag.stores.machine import gather

    env = os.environ if env is None else env
    when = now or datetime.now(UTC)
    machine = machine_block(gather(env, when), now=when)
    local = when.astimezone()
    return {
        "machine": machine,
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "version": platform.version(),
            "name": machine.get("os_name", ""),
            "arch": platform.machine(),
        },
        "versions": {
            "tlsdiag": __version__,
            "python": platform.python_version(),
            "python_implementation": platform.python_implementation(),
            "openssl": ssl.OPENSSL_VERSION,
        },
        "time": {
            "utc": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "local": local.isoformat(timespec="seconds"),
            "time_zone": machine.get("time_zone", ""),
            "utc_offset": machine.get("utc_offset", ""),
            "tz_env": env.get("TZ", ""),
        },
        "proxy": {
            "environment": proxy_env(env),
            "platform": platform_proxy(sys.platform, run),
        },
        "dns": dns_servers() if sys.platform != "win32" else {"source": "not read on Windows"},
    }
