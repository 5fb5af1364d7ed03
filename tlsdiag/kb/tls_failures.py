"""Typed loader for ``data/tls_failures.toml``: OpenSSL failures to finding codes (read once).

``tlsdiag.core.tls_failure.classify`` looks a failure up in this table; the probe and both sides
of the proxy use it, so one handshake failure gets one code wherever it is seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from tlsdiag.codes import ALL_CODES
from tlsdiag.kb._load import load_toml

Peer = Literal["server", "client", "any"]
_PEERS: frozenset[str] = frozenset({"server", "client", "any"})
_KEYS = frozenset(
    {
        "id",
        "peer",
        "verify_code",
        "reason",
        "alert",
        "cert_requested",
        "code",
        "alert_sent",
        "refine",
    }
)


@dataclass(frozen=True, slots=True)
class FailureRule:
    """One row of the table: what must match, and the finding code it means.

    ``None`` (or an empty tuple) means "any"; an alert of ``""`` means "no alert at all".
    """

    id: str
    code: str
    peer: Peer = "any"
    verify_code: int | None = None
    reasons: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    cert_requested: bool | None = None
    alert_sent: str = ""
    refine: bool = False  # OpenSSL says the same for several problems: the chain analysis picks

    @property
    def specificity(self) -> int:
        """How many match keys the rule sets (more wins)."""
        return sum(
            (
                self.verify_code is not None,
                bool(self.reasons),
                bool(self.alerts),
                self.cert_requested is not None,
            )
        )


def _strings(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: {key} must be a string or a list of strings")
    return tuple(value)


def parse_rules(
    doc: dict[str, Any], *, source: str = "tls_failures.toml"
) -> tuple[FailureRule, ...]:
    """Check and convert the parsed TOML document (unknown keys, unknown codes, duplicate ids).

    Raises:
        ValueError: the table is malformed.
    """
    rules: list[FailureRule] = []
    seen: set[str] = set()
    for entry in doc.get("failure", []):
        rid = entry.get("id")
        where = f"{source}: {rid}"
        if not isinstance(rid, str) or not rid:
            raise ValueError(f"{source}: an entry has no id")
        unknown = set(entry) - _KEYS
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        if rid in seen:
            raise ValueError(f"{source}: duplicate id {rid}")
        seen.add(rid)
        code = entry.get("code")
        if code not in ALL_CODES:
            raise ValueError(f"{where}: unknown finding code {code!r}")
        peer = entry.get("peer", "any")
        if peer not in _PEERS:
            raise ValueError(f"{where}: peer must be one of {sorted(_PEERS)}")
        verify_code = entry.get("verify_code")
        if verify_code is not None and (
            not isinstance(verify_code, int) or isinstance(verify_code, bool)
        ):
            raise ValueError(f"{where}: verify_code must be an integer")
        cert_requested = entry.get("cert_requested")
        if cert_requested is not None and not isinstance(cert_requested, bool):
            raise ValueError(f"{where}: cert_requested must be true or false")
        refine = entry.get("refine", False)
        if not isinstance(refine, bool):
            raise ValueError(f"{where}: refine must be true or false")
        rule = FailureRule(
            id=rid,
            code=code,
            peer=peer,
            verify_code=verify_code,
            reasons=tuple(r.upper() for r in _strings(entry, "reason", where)),
            alerts=tuple(a.lower() for a in _strings(entry, "alert", where)),
            cert_requested=cert_requested,
            alert_sent=str(entry.get("alert_sent", "")),
            refine=refine,
        )
        if rule.specificity == 0:
            raise ValueError(f"{where}: the entry matches nothing (set a match key)")
        rules.append(rule)
    return tuple(rules)


@cache
def tls_failures() -> tuple[FailureRule, ...]:
    """Every rule of ``data/tls_failures.toml``, in file order."""
    return parse_rules(load_toml("tls_failures.toml"))
