"""Which clients fetch a missing intermediate via AIA, and which fail (``data/aia_clients.toml``).

Pure: reads the packaged knowledge base once. ``server.chain_incomplete`` quotes
:func:`aia_client_summary` so the user learns why the site works in one browser and fails in
curl, Python, Java or behind the inspecting proxy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from tlsdiag.kb._load import load_toml

BEHAVIOURS = frozenset({"fetch", "fail", "optional", "preload"})
_REQUIRED = {"id", "client", "platforms", "behaviour", "label", "sources", "verified"}
_KEYS = _REQUIRED | {"note"}


@dataclass(frozen=True, slots=True)
class AiaClient:
    """One client (or family) and how it handles a missing intermediate."""

    id: str
    client: str
    platforms: str
    behaviour: str  # "fetch" | "fail" | "optional" | "preload"
    label: str
    note: str
    sources: tuple[str, ...]
    verified: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "client": self.client,
            "platforms": self.platforms,
            "behaviour": self.behaviour,
            "label": self.label,
            "note": self.note,
            "sources": list(self.sources),
            "verified": self.verified,
        }


def parse_aia_clients(doc: dict[str, object]) -> tuple[AiaClient, ...]:
    """Validate and convert a parsed ``aia_clients.toml`` document.

    Raises:
        ValueError: unknown or missing keys, a bad behaviour, a duplicate id, no source.
    """
    entries = doc.get("client")
    if not isinstance(entries, list):
        raise ValueError("aia_clients.toml: expected an array of [[client]] tables")
    out: list[AiaClient] = []
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError("aia_clients.toml: every [[client]] must be a table")
        ident = str(entry.get("id", "?"))
        unknown = set(entry) - _KEYS
        missing = _REQUIRED - set(entry)
        if unknown or missing:
            raise ValueError(
                f"aia_clients.toml: {ident}: unknown keys {sorted(unknown)}, "
                f"missing keys {sorted(missing)}"
            )
        if entry["behaviour"] not in BEHAVIOURS:
            raise ValueError(f"aia_clients.toml: {ident}: bad behaviour {entry['behaviour']!r}")
        sources = entry["sources"]
        if not isinstance(sources, list) or not sources:
            raise ValueError(f"aia_clients.toml: {ident}: at least one source is required")
        if ident in seen:
            raise ValueError(f"aia_clients.toml: duplicate id {ident}")
        seen.add(ident)
        out.append(
            AiaClient(
                id=ident,
                client=str(entry["client"]),
                platforms=str(entry["platforms"]),
                behaviour=str(entry["behaviour"]),
                label=str(entry["label"]),
                note=str(entry.get("note", "")),
                sources=tuple(str(s) for s in sources),
                verified=bool(entry["verified"]),
            )
        )
    return tuple(out)


@cache
def aia_clients() -> tuple[AiaClient, ...]:
    """Every entry of ``data/aia_clients.toml``, in file order."""
    return parse_aia_clients(load_toml("aia_clients.toml"))


def aia_client_summary(*, public_ca: bool = True) -> tuple[list[str], list[str]]:
    """Labels of the clients that complete the chain (fetch) and of those that fail.

    Args:
        public_ca: the missing intermediate belongs to a publicly trusted CA. Firefox
            completes those from its preloaded set (it does not fetch AIA), so it counts as
            working; for a private or inspection CA it counts as failing.

    Returns:
        (fetch, fail): labels in file order. "optional" clients (Java) count as failing,
        because they fail unless someone changed their settings.
    """
    fetch: list[str] = []
    fail: list[str] = []
    for client in aia_clients():
        works = client.behaviour == "fetch" or (client.behaviour == "preload" and public_ca)
        (fetch if works else fail).append(client.label)
    return fetch, fail
