"""What a page used, from its HAR entries: domains, request counts, failed or blocked requests,
and whether the page's domains are handled consistently (pure).

Entries arrive one at a time (``core.har_stream``) and already redacted (``core.redact``);
``HarSummary`` keeps counters per host and at most ``MAX_FAILED`` failed requests, so memory stays
bounded whatever the file's size. Hosts are grouped by registrable domain with the public suffix
list of the ``publicsuffixlist`` package (offline, bundled with it).
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from tlsdiag import codes
from tlsdiag.core.findings import make_finding
from tlsdiag.facts.har import HarDomainFacts, HarHostFacts, HarSummaryFacts
from tlsdiag.model import Finding

MAX_FAILED = 200
SMALL_BYTES = 64  # a successful HTTPS answer smaller than this is "unusually small"
BLOCK_STATUSES = frozenset({403, 407, 451, 502, 503, 511})
BLOCK_BYTES = 4096  # a proxy's block page is small


@dataclass(frozen=True, slots=True)
class HarRequest:
    """One request of the HAR, as much as the summary needs."""

    url: str
    host: str
    scheme: str
    port: int
    method: str
    status: int
    size: int  # response body bytes, -1 unknown
    error: str = ""  # the browser's _error / failure text
    problem: str = ""  # "" when fine, else why it counts as failed or blocked


_HOST = re.compile(r"[a-z0-9_.-]+|[0-9a-f:.]+")  # DNS name or IP address (no brackets)


@cache
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


@cache
def registrable_domain(host: str) -> str:
    """``www.example.co.uk`` -> ``example.co.uk``; IP literals and single labels unchanged.

    Args:
        host: a host name (any case, trailing dot allowed).

    Returns:
        The registrable domain (eTLD+1) from the public suffix list, or the host itself.
    """
    host = host.lower().rstrip(".")
    if not host or ":" in host or host.replace(".", "").isdigit():
        return host
    found = _psl().privatesuffix(host)
    return str(found) if found else host


def _int(value: Any, default: int = -1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def request_of(entry: Mapping[str, Any]) -> HarRequest | None:
    """The request of one entry, or None when it has no usable URL."""
    req = entry.get("request")
    resp = entry.get("response")
    if not isinstance(req, Mapping):
        return None
    url = str(req.get("url", ""))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.scheme not in {"http", "https", "ws", "wss"}:
        return None
    resp = resp if isinstance(resp, Mapping) else {}
    status = _int(resp.get("status"), 0)
    content = resp.get("content") if isinstance(resp.get("content"), Mapping) else {}
    size = _int(content.get("size") if content else None)
    if size < 0:
        size = _int(resp.get("bodySize"))
    error = str(resp.get("_error") or entry.get("_error") or resp.get("_errorText") or "")
    tls = parts.scheme in {"https", "wss"}
    problem = ""
    if error:
        problem = f"error: {error}"
    elif status <= 0:
        problem = "no response (status 0)"
    elif tls and status in BLOCK_STATUSES and 0 <= size < BLOCK_BYTES:
        problem = f"blocked? HTTP {status} with a {size}-byte body"
    elif tls and 200 <= status < 300 and status != 204 and 0 <= size < SMALL_BYTES:
        problem = f"unusually small response ({size} bytes)"
    host = parts.hostname.lower()
    if not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    if not _HOST.fullmatch(host):
        return None  # not a name a browser could have asked for (quotes, controls, spaces ...)
    return HarRequest(
        url=url,
        host=host,
        scheme=parts.scheme,
        port=port or (443 if tls else 80),
        method=str(req.get("method", "")),
        status=status,
        size=size,
        error=error,
        problem=problem,
    )


@dataclass
class _HostCount:
    requests: int = 0
    failed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    schemes: set[str] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)


@dataclass
class HarSummary:
    """Counters per host, built one entry at a time (bounded memory)."""

    entries: int = 0
    skipped: int = 0
    hosts: dict[str, _HostCount] = field(default_factory=dict)
    failed: list[HarRequest] = field(default_factory=list)
    failed_total: int = 0
    pages: list[str] = field(default_factory=list)
    creator: str = ""

    def add(self, entry: Mapping[str, Any]) -> None:
        """Count one (redacted) entry."""
        self.entries += 1
        req = request_of(entry)
        if req is None:
            self.skipped += 1
            return
        count = self.hosts.setdefault(req.host, _HostCount())
        count.requests += 1
        count.statuses[str(req.status)] += 1
        count.schemes.add(req.scheme)
        count.ports.add(req.port)
        if req.problem:
            count.failed += 1
            self.failed_total += 1
            if len(self.failed) < MAX_FAILED:
                self.failed.append(req)

    def meta(self, key: str, value: Any) -> None:
        """Keep what is useful of the other values of ``log`` (creator, page titles)."""
        if key == "creator" and isinstance(value, Mapping):
            self.creator = f"{value.get('name', '')} {value.get('version', '')}".strip()
        elif key == "pages" and isinstance(value, list):
            self.pages.extend(str(p.get("title", "")) for p in value[:50] if isinstance(p, Mapping))

    def host_states(self) -> dict[str, str]:
        """Per host: ``ok``, ``failed`` (every request failed) or ``partly failed``."""
        out = {}
        for host, c in self.hosts.items():
            out[host] = "ok" if not c.failed else "failed" if c.failed == c.requests else "partly"
        return out

    def to_facts(self, statuses: Mapping[str, str] | None = None) -> HarSummaryFacts:
        """JSON-ready facts, grouped by registrable domain (most requests first).

        Args:
            statuses: per host, ``inspected`` / ``bypassed`` / ``failing`` (``--check``) or a
                policy action (``--policy``); shown next to each host.
        """
        groups: dict[str, list[str]] = {}
        for host in self.hosts:
            groups.setdefault(registrable_domain(host), []).append(host)
        domains: list[HarDomainFacts] = []
        for domain, hosts in groups.items():
            rows: list[HarHostFacts] = []
            for host in sorted(hosts, key=lambda h: (-self.hosts[h].requests, h)):
                c = self.hosts[host]
                row: HarHostFacts = {
                    "host": host,
                    "requests": c.requests,
                    "failed": c.failed,
                    "schemes": sorted(c.schemes),
                    "ports": sorted(c.ports),
                    "statuses": dict(sorted(c.statuses.items())),
                }
                if statuses is not None:
                    row["handling"] = statuses.get(host, "")
                rows.append(row)
            domains.append(
                {
                    "domain": domain,
                    "requests": sum(r["requests"] for r in rows),
                    "failed": sum(r["failed"] for r in rows),
                    "hosts": rows,
                }
            )
        domains.sort(key=lambda d: (-d["requests"], d["domain"]))
        return {
            "entries": self.entries,
            "entries_without_url": self.skipped,
            "creator": self.creator,
            "pages": self.pages,
            "hosts": len(self.hosts),
            "domains": domains,
            "failed_requests": [
                {
                    "url": r.url,
                    "host": r.host,
                    "method": r.method,
                    "status": r.status,
                    "size": r.size,
                    "problem": r.problem,
                }
                for r in self.failed
            ],
            "failed_total": self.failed_total,
            "failed_listed": len(self.failed),
        }


def rule_snippet(fqdns: list[str], action: str = "bypass") -> str:
    """A proxy policy rule (TOML) covering exactly these host names."""
    hosts = ", ".join(f'"{h}"' for h in fqdns)
    return f'[[rule]]\nid = "page-domains"\naction = "{action}"\nhost = [{hosts}]'


def dependent_domain_findings(handling: Mapping[str, str], *, source: str) -> list[Finding]:
    """``site.dependent_domains`` when a page's hosts are handled differently.

    Args:
        handling: per host name, how it is handled: ``inspected``, ``bypassed``, ``failing``
            (from ``--check``), ``inspect``/``bypass``/``block`` (``--policy``), or ``ok``,
            ``partly``, ``failed`` (the HAR alone).
        source: what the handling came from, for the evidence (``--check``, ``--policy FILE``).

    Returns:
        One finding listing the exact host names to add to one targeted rule, or none.
    """
    bypass = sorted(h for h, s in handling.items() if s in {"bypassed", "bypass"})
    if bypass:
        other = sorted(h for h in handling if h not in set(bypass))
        if not other:
            return []
        detail = (
            f"{len(bypass)} of the page's {len(handling)} host names are bypassed, "
            f"{len(other)} are not ({', '.join(f'{h}: {handling[h]}' for h in other[:8])}): a "
            "pinned or sensitive site breaks when only part of it is bypassed."
        )
        add, action = other, "bypass"
    else:
        bad = sorted(h for h, s in handling.items() if s in {"failing", "failed", "block"})
        good = [h for h, s in handling.items() if s in {"inspected", "inspect", "ok"}]
        if not bad or not good:
            return []
        detail = (
            f"{len(bad)} of the page's {len(handling)} host names fail or are blocked while "
            f"{len(good)} work: the page needs all of them."
        )
        add, action = bad, "bypass"
    return [
        make_finding(
            codes.SITE_DEPENDENT_DOMAINS,
            detail=detail,
            evidence={
                "source": source,
                "fqdns": ", ".join(add),
                "handling": "; ".join(f"{h}: {handling[h]}" for h in sorted(handling)),
                "rule": rule_snippet(sorted(set(add) | set(bypass)), action),
            },
            remediation=(
                "Add exactly these host names to one targeted rule (evidence 'fqdns'; "
                "'rule' shows it for the embedded proxy) so the whole page is handled alike."
            ),
        )
    ]
