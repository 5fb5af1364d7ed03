"""The host (and port) a pasted error text talks about, and whether it is a large public service
with a sound chain (the ``host``, ``ignore_host`` and ``public_host`` rules of
``data/explain_context.toml``). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tlsdiag.kb.explain import ContextRule
    from tlsdiag.kb.explain_text import Haystack

_PLACEHOLDER = "<host>"


def _host_ok(host: str, ignore: Iterable[ContextRule]) -> bool:
    if not host or host == _PLACEHOLDER:
        return False
    if any(r.compiled().fullmatch(host) for r in ignore):
        return False
    if host == "localhost" or ":" in host:
        return True
    if "." not in host or host.startswith(".") or "*" in host:
        return False
    last = host.rsplit(".", 1)[-1]
    # reject file names such as "_ssl.c" or "cert.pem", keep IPv4 literals
    if last.isdigit():
        return host.replace(".", "").isdigit()
    return last.isalpha() and len(last) >= 2


def find_host(text: Haystack, rules: Iterable[ContextRule]) -> tuple[str, int | None]:
    """The host (and port) the text talks about, from the ``host`` rules in file order.

    Returns:
        ``(host, port)``; ``("", None)`` when the text names no usable host.
    """
    rules = tuple(rules)
    ignore = [r for r in rules if r.kind == "ignore_host"]  # compiled only for a candidate
    for rule in rules:
        if rule.kind != "host":
            continue
        for i, m in enumerate(text.finditer(rule)):
            if i >= 20:
                break
            host = m.group("host").strip("[]").rstrip(".").lower()
            if not _host_ok(host, ignore):
                continue
            port_text = m.groupdict().get("port")
            port = int(port_text) if port_text and port_text.isdigit() else None
            if port is not None and not 0 < port < 65536:
                port = None
            return host, port
    return "", None


def split_host(value: str) -> tuple[str, int | None]:
    """``name``, ``name:port``, ``[v6]:port`` or a URL to ``(host, port)``."""
    value = value.strip()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0].rsplit("@", 1)[-1]
    if value.startswith("["):
        inner, _, rest = value[1:].partition("]")
        port_text = rest.removeprefix(":")
        return inner.lower(), int(port_text) if port_text.isdigit() else None
    if value.count(":") == 1:
        name, _, port_text = value.partition(":")
        return name.lower().rstrip("."), int(port_text) if port_text.isdigit() else None
    return value.lower().rstrip("."), None


def _target(host: str, port: int | None) -> str:
    if not host:
        return ""
    shown = f"[{host}]" if ":" in host else host
    return shown if port in (None, 443) else f"{shown}:{port}"


def _public_host_rule(rules: Iterable[ContextRule], host: str) -> ContextRule | None:
    if not host:
        return None
    for rule in rules:
        if rule.kind == "public_host" and rule.compiled().fullmatch(host):
            return rule
    return None
