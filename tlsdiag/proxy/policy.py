"""The proxy's policy: ordered rules (first match wins, like a firewall) and policy-wide settings.

A rule matches on host patterns (exact ``www.example.com``, one-label wildcard ``*.example.com``,
suffix ``.example.com`` = the domain and everything under it, ``*`` = any), ports and client
networks; its action is ``inspect``, ``bypass`` or ``block``. After the user's rules comes the
shipped default bypass list (pinned and mutual-TLS services; ``default_bypass = false`` turns it
off), then ``default_action``. Pure: parsing takes text, deciding takes names and addresses.
"""

from __future__ import annotations

import ipaddress
import ssl
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from typing import Any

from tlsdiag.errors import InputError


class Action(StrEnum):
    """What the proxy does with a connection."""

    INSPECT = "inspect"
    BYPASS = "bypass"
    BLOCK = "block"


class InvalidCert(StrEnum):
    """What to do when the server's certificate does not verify."""

    BLOCK = "block"  # the default: a block page naming the problem
    ALLOW = "allow"  # re-sign as if valid (hides the problem from the client)
    MIMIC = "mimic"  # reproduce the problem in the forged certificate


class MutualTls(StrEnum):
    """What to do when the server asks for a client certificate."""

    BYPASS = "bypass"
    BLOCK = "block"


VERSIONS: Mapping[str, ssl.TLSVersion] = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Rule:
    """One ordered rule."""

    id: str
    action: Action
    hosts: tuple[str, ...] = ("*",)
    ports: tuple[int, ...] = ()  # empty: any port
    clients: tuple[Network, ...] = ()  # empty: any client
    note: str = ""
    source: str = "policy"  # "policy" or "default-bypass"
    _host_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_host_set", frozenset(self.hosts))

    def matches(self, host: str, port: int, client: str | None) -> bool:
        """True when host, port and client all match."""
        return self.matches_keys(host_keys(host.lower().rstrip(".")), port, client)

    def matches_keys(self, keys: frozenset[str], port: int, client: str | None) -> bool:
        """``matches`` for a host already turned into its ``host_keys``."""
        if self.ports and port not in self.ports:
            return False
        if self.clients:
            if client is None:
                return False
            try:
                addr = ipaddress.ip_address(client)
            except ValueError:
                return False
            if not any(addr in net for net in self.clients):
                return False
        return not self._host_set.isdisjoint(keys)


def host_keys(host: str) -> frozenset[str]:
    """Every pattern that matches the lower-case ``host``: the host itself, ``*``, its
    one-label wildcard ``*.rest`` and each suffix pattern ``.domain`` (``.host`` included).

    A rule matches exactly when one of its patterns is among these (the same answer as
    ``host_matches`` for each pattern, in one set lookup instead of a loop per pattern).
    """
    keys = {host, "*", "." + host}
    head, dot, rest = host.partition(".")
    if dot and head:
        keys.add("*." + rest)
    i = host.find(".")
    while i >= 0:
        keys.add(host[i:])
        i = host.find(".", i + 1)
    return frozenset(keys)


def host_matches(pattern: str, host: str) -> bool:
    """Match one host pattern (see the module docstring) against a lower-case host."""
    host = host.lower().rstrip(".")
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        base = pattern[2:]
        head, dot, rest = host.partition(".")
        return bool(dot) and bool(head) and rest == base
    if pattern.startswith("."):
        base = pattern[1:]
        return host == base or host.endswith(pattern)
    return host == pattern


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of matching: the action and the rule that decided it."""

    action: Action
    rule: str  # rule id, "default" when no rule matched
    note: str = ""
    source: str = "policy"


@dataclass(frozen=True, slots=True)
class Policy:
    """Rules plus policy-wide settings."""

    rules: tuple[Rule, ...] = ()
    default_action: Action = Action.INSPECT
    default_bypass: bool = True
    server_min: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    server_max: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3
    client_min: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    client_max: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3
    min_cipher_bits: int = 128
    invalid_certificate: InvalidCert = InvalidCert.BLOCK
    mutual_tls: MutualTls = MutualTls.BYPASS
    aia_fetch: bool = False
    bypass_rules: tuple[Rule, ...] = field(default_factory=tuple)

    def decide(self, host: str, port: int, client: str | None = None) -> Decision:
        """First matching rule wins; then the default bypass list; then the default action."""
        keys = host_keys(host.lower().rstrip("."))
        for rule in self.rules:
            if rule.matches_keys(keys, port, client):
                return Decision(rule.action, rule.id, rule.note, rule.source)
        if self.default_bypass:
            for rule in self.bypass_rules:
                if rule.matches_keys(keys, port, client):
                    return Decision(rule.action, rule.id, rule.note, rule.source)
        return Decision(self.default_action, "default")


_POLICY_KEYS = {
    "default_action",
    "default_bypass",
    "server_min_tls",
    "server_max_tls",
    "client_min_tls",
    "client_max_tls",
    "min_cipher_bits",
    "invalid_certificate",
    "mutual_tls",
    "aia_fetch",
}
_RULE_KEYS = {"id", "action", "host", "port", "client", "note"}


def _choice(enum: type[StrEnum], value: Any, what: str) -> Any:
    try:
        return enum(str(value).lower())
    except ValueError:
        allowed = ", ".join(str(m) for m in enum)
        raise ValueError(f"{what}: {value!r} is not one of {allowed}") from None


def _version(value: Any, what: str) -> ssl.TLSVersion:
    text = str(value).lower().removeprefix("tlsv").removeprefix("tls").strip()
    if text not in VERSIONS:
        raise ValueError(f"{what}: {value!r} is not one of {', '.join(VERSIONS)}")
    return VERSIONS[text]


def _str_list(value: Any, what: str) -> list[str]:
    items = [value] if isinstance(value, str | int) else value
    if not isinstance(items, list) or not items:
        raise ValueError(f"{what}: expected a string or a non-empty list")
    return [str(v) for v in items]


def normalize_pattern(pattern: str, what: str) -> str:
    """Lower-case a host pattern and check its shape."""
    p = pattern.strip().lower().rstrip(".")
    body = p.removeprefix("*.").removeprefix(".")
    if p != "*" and (not body or "*" in body or " " in body or "/" in body):
        raise ValueError(f"{what}: {pattern!r} is not a host, *.domain, .domain or *")
    return p


def _rule(entry: Mapping[str, Any], index: int, source: str) -> Rule:
    rid = str(entry.get("id") or f"rule-{index}")
    what = f"rule {rid!r}"
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise ValueError(f"{what}: unknown keys {sorted(unknown)}")
    if "action" not in entry:
        raise ValueError(f"{what}: missing action (inspect, bypass or block)")
    action = _choice(Action, entry["action"], f"{what} action")
    hosts = tuple(
        normalize_pattern(h, f"{what} host") for h in _str_list(entry.get("host", "*"), what)
    )
    ports: list[int] = []
    if "port" in entry:
        for p in _str_list(entry["port"], f"{what} port"):
            if not (p.isascii() and p.isdigit()) or not 0 < int(p) < 65536:
                raise ValueError(f"{what} port: {p!r} is not a port number")
            ports.append(int(p))
    clients: list[Network] = []
    if "client" in entry:
        for c in _str_list(entry["client"], f"{what} client"):
            try:
                clients.append(ipaddress.ip_network(c, strict=False))
            except ValueError:
                raise ValueError(f"{what} client: {c!r} is not an address or network") from None
    return Rule(
        rid, action, hosts, tuple(ports), tuple(clients), str(entry.get("note", "")), source
    )


def parse_policy(text: str, *, what: str = "policy") -> Policy:
    """Parse a policy TOML document (see docs/proxy.md).

    Raises:
        ValueError: malformed TOML, unknown keys or bad values (the message names them).
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{what}: not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ValueError(f"{what}: nested too deeply to be a policy") from exc
    unknown = set(doc) - {"policy", "rule"}
    if unknown:
        raise ValueError(f"{what}: unknown tables {sorted(unknown)} (expected [policy], [[rule]])")
    settings = doc.get("policy", {})
    if not isinstance(settings, dict):
        raise ValueError(f"{what}: [policy] must be a table")
    bad = set(settings) - _POLICY_KEYS
    if bad:
        raise ValueError(f"{what}: unknown [policy] keys {sorted(bad)}")
    entries = doc.get("rule", [])
    if not isinstance(entries, list):
        raise ValueError(f"{what}: use [[rule]] for rules")
    if not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{what}: every [[rule]] must be a table")
    rules = tuple(_rule(e, i + 1, "policy") for i, e in enumerate(entries))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{what}: duplicate rule ids")
    pol = Policy(rules=rules, bypass_rules=default_bypass_rules())
    changes: dict[str, Any] = {}
    if "default_action" in settings:
        changes["default_action"] = _choice(Action, settings["default_action"], "default_action")
    if "default_bypass" in settings:
        if not isinstance(settings["default_bypass"], bool):
            raise ValueError("default_bypass: expected true or false")
        changes["default_bypass"] = settings["default_bypass"]
    if "aia_fetch" in settings:
        if not isinstance(settings["aia_fetch"], bool):
            raise ValueError("aia_fetch: expected true or false")
        changes["aia_fetch"] = settings["aia_fetch"]
    for key, attr in (
        ("server_min_tls", "server_min"),
        ("server_max_tls", "server_max"),
        ("client_min_tls", "client_min"),
        ("client_max_tls", "client_max"),
    ):
        if key in settings:
            changes[attr] = _version(settings[key], key)
    if "min_cipher_bits" in settings:
        bits = settings["min_cipher_bits"]
        if not isinstance(bits, int) or not 0 <= bits <= 256:
            raise ValueError("min_cipher_bits: expected a number from 0 to 256")
        changes["min_cipher_bits"] = bits
    if "invalid_certificate" in settings:
        changes["invalid_certificate"] = _choice(
            InvalidCert, settings["invalid_certificate"], "invalid_certificate"
        )
    if "mutual_tls" in settings:
        changes["mutual_tls"] = _choice(MutualTls, settings["mutual_tls"], "mutual_tls")
    pol = replace(pol, **changes)
    if pol.server_min > pol.server_max or pol.client_min > pol.client_max:
        raise ValueError(f"{what}: a minimum TLS version is above the maximum")
    return pol


def load_policy(path: str) -> Policy:
    """Read and parse a policy file.

    Raises:
        InputError: unreadable or invalid (the message names the file).
    """
    from pathlib import Path

    from tlsdiag.stores.userfile import Kind, read_file

    data, _ = read_file(Path(path), Kind.POLICY, what=f"--policy {path}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"--policy {path}: not UTF-8 text") from exc
    try:
        return parse_policy(text, what=f"--policy {path}")
    except ValueError as exc:
        msg = str(exc)
        if not msg.startswith("--policy"):
            msg = f"--policy {path}: {msg}"
        raise InputError(msg, hint="see docs/proxy.md for the policy format") from exc


@cache
def default_bypass_rules() -> tuple[Rule, ...]:
    """The shipped default bypass list (``data/proxy_default_bypass.toml``) as rules."""
    from tlsdiag.kb.proxy_bypass import default_bypass

    out: list[Rule] = []
    for entry in default_bypass():
        rid = f"default-bypass:{entry.id}"
        hosts = tuple(normalize_pattern(h, rid) for h in entry.hosts)
        note = f"{entry.reason}: {entry.note}"
        out.append(Rule(rid, Action.BYPASS, hosts, note=note, source="default-bypass"))
    return tuple(out)


def policy_summary(policy: Policy) -> dict[str, Any]:
    """JSON-ready description of the policy (for reports and the start banner)."""
    names = {v: k for k, v in VERSIONS.items()}
    return {
        "rules": [
            {
                "id": r.id,
                "action": r.action.value,
                "host": list(r.hosts),
                "port": list(r.ports),
                "client": [str(c) for c in r.clients],
            }
            for r in policy.rules
        ],
        "default_action": policy.default_action.value,
        "default_bypass": policy.default_bypass,
        "default_bypass_entries": len(policy.bypass_rules),
        "server_min_tls": names.get(policy.server_min, "lowest"),
        "server_max_tls": names.get(policy.server_max, "highest"),
        "client_min_tls": names.get(policy.client_min, "lowest"),
        "client_max_tls": names.get(policy.client_max, "highest"),
        "min_cipher_bits": policy.min_cipher_bits,
        "invalid_certificate": policy.invalid_certificate.value,
        "mutual_tls": policy.mutual_tls.value,
        "aia_fetch": policy.aia_fetch,
    }


def default_policy() -> Policy:
    """The policy without a file: inspect everything but the default bypass list."""
    return Policy(bypass_rules=default_bypass_rules())


def with_rules(policy: Policy, rules: Sequence[Rule]) -> Policy:
    """A copy with ``rules`` in front of the existing ones."""
    return replace(policy, rules=(*rules, *policy.rules))
