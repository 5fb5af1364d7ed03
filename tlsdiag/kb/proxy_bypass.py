"""The proxy's shipped default bypass list (``data/proxy_default_bypass.toml``): services that
pin their certificates or need mutual TLS, which an inspecting proxy must let through."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from tlsdiag.kb._load import load_toml

_KEYS = {"id", "host", "reason", "note"}
REASONS = ("pinned", "mutual_tls")


@dataclass(frozen=True, slots=True)
class BypassEntry:
    """One default-bypass entry: host patterns and why they are bypassed."""

    id: str
    hosts: tuple[str, ...]
    reason: str  # one of REASONS
    note: str = ""


def parse_bypass(doc: dict[str, Any]) -> tuple[BypassEntry, ...]:
    """Validate a parsed ``proxy_default_bypass.toml``.

    Raises:
        ValueError: unknown keys, a duplicate id, a bad reason or host list.
    """
    out: list[BypassEntry] = []
    seen: set[str] = set()
    for entry in doc.get("bypass", ()):
        ident = str(entry.get("id", "?"))
        unknown = set(entry) - _KEYS
        if unknown:
            raise ValueError(f"proxy_default_bypass.toml: {ident}: unknown {sorted(unknown)}")
        if ident in seen:
            raise ValueError(f"proxy_default_bypass.toml: duplicate id {ident}")
        seen.add(ident)
        hosts = entry.get("host")
        hosts = [hosts] if isinstance(hosts, str) else hosts
        if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) for h in hosts):
            raise ValueError(f"proxy_default_bypass.toml: {ident}: host must be a string or list")
        reason = str(entry.get("reason", ""))
        if reason not in REASONS:
            raise ValueError(
                f"proxy_default_bypass.toml: {ident}: reason must be pinned|mutual_tls"
            )
        out.append(BypassEntry(ident, tuple(hosts), reason, str(entry.get("note", ""))))
    return tuple(out)


@cache
def default_bypass() -> tuple[BypassEntry, ...]:
    """The shipped entries, parsed once per process."""
    return parse_bypass(load_toml("proxy_default_bypass.toml"))
