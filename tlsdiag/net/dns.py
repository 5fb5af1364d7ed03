"""Name resolution: ``--resolve`` first, then the system resolver, then DNS (dnspython).

The system resolver (``getaddrinfo``: the hosts file, NSS, systemd-resolved or a VPN's split
DNS, macOS's scoped resolvers, Windows' name resolution policy) gives the answer this machine's
apps get, so it comes first and, for a name it knows, is the only lookup: importing dnspython
costs about 50 ms. Only when it fails does dnspython ask the configured DNS servers directly,
to say why (no such name, which server, a timeout) or to go on with what DNS knows.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

from tlsdiag.core.target import ResolveRule
from tlsdiag.model import DnsAnswer, Target


def _dns_lookup(name: str, family: int, timeout: float) -> tuple[list[str], list[str], str, str]:
    """(addresses, CNAME chain, answering server, error) via dnspython."""
    from concurrent.futures import ThreadPoolExecutor  # (with logging: ~5 ms; not for --resolve)

    import dns.exception
    import dns.resolver

    try:
        resolver = dns.resolver.Resolver()
    except dns.resolver.NoResolverConfiguration:
        return [], [], "", "no DNS server configured"
    resolver.lifetime = timeout
    resolver.timeout = min(timeout, 2.0)
    types = (
        ["A"]
        if family == socket.AF_INET
        else ["AAAA"]
        if family == socket.AF_INET6
        else [
            "A",
            "AAAA",
        ]
    )
    addresses: list[str] = []
    cnames: list[str] = []
    server = ""
    errors: list[str] = []

    def one(rdtype: str) -> None:
        nonlocal server
        try:
            answer = resolver.resolve(name, rdtype, search=False)
        except dns.resolver.NXDOMAIN:
            errors.append(f"{rdtype}: no such name (NXDOMAIN)")
            return
        except dns.resolver.NoAnswer:
            return
        except dns.resolver.NoNameservers as exc:
            errors.append(f"{rdtype}: no DNS server answered ({exc.msg})")
            return
        except dns.exception.Timeout:
            errors.append(f"{rdtype}: DNS timed out after {timeout:g}s")
            return
        except dns.exception.DNSException as exc:
            errors.append(f"{rdtype}: {exc}")
            return
        server = server or str(getattr(answer, "nameserver", ""))
        addresses.extend(r.to_text() for r in answer)
        for rrset in answer.chaining_result.cnames:
            cnames.extend(r.target.to_text().rstrip(".") for r in rrset)

    with ThreadPoolExecutor(max_workers=len(types)) as pool:
        list(pool.map(one, types))
    return addresses, list(dict.fromkeys(cnames)), server, "; ".join(errors)


def _system_lookup(name: str, port: int, family: int) -> tuple[list[str], str, str]:
    """(addresses, canonical name, error) as ``getaddrinfo`` gives them, in its order."""
    try:
        infos = socket.getaddrinfo(name, port, family, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
    except socket.gaierror as exc:
        return [], "", exc.strerror or str(exc)
    except UnicodeError as exc:
        return [], "", f"invalid name: {exc}"
    canonical = next((str(i[3]) for i in infos if i[3]), "").rstrip(".")
    return list(dict.fromkeys(str(i[4][0]) for i in infos)), canonical, ""


def resolve(
    target: Target,
    *,
    rules: Sequence[ResolveRule] = (),
    connect_host: str | None = None,
    connect_port: int | None = None,
    family: int = socket.AF_UNSPEC,
    timeout: float = 5.0,
) -> DnsAnswer:
    """Resolve the host to connect to, recording how.

    ``--resolve`` rules win (as in curl, matched on the requested host and port); an IP literal
    needs no lookup; otherwise the system resolver, as curl and the machine's apps do, and DNS
    via dnspython only when that fails (the error then says what DNS answered).
    """
    name = connect_host or target.host
    port = connect_port or target.port
    start = time.monotonic()
    for rule in rules:
        if rule.matches(name, port):
            addrs = _filter(rule.addresses, family)
            return DnsAnswer(
                name,
                addrs,
                (),
                "--resolve",
                "" if addrs else "no address of the requested family in --resolve",
                time.monotonic() - start,
            )
    if (connect_host is None and target.is_ip) or _is_ip(name):
        return DnsAnswer(name, _filter((name,), family), (), "literal", "", 0.0)
    sys_addrs, canonical, sys_err = _system_lookup(name, port, family)
    if sys_addrs:
        aliases = (canonical,) if canonical and canonical.lower() != name.lower() else ()
        return DnsAnswer(
            name, tuple(sys_addrs), aliases, "system resolver", "", time.monotonic() - start
        )
    dns_list, cnames, server, err = _dns_lookup(name, family, timeout)
    if dns_list:  # DNS knows a name this machine's resolver does not (hosts, NSS): go on
        source = f"dns {server}" if server else "dns"
        return DnsAnswer(name, tuple(dns_list), tuple(cnames), source, "", time.monotonic() - start)
    error = err or sys_err or "no address found"
    if sys_err and err and sys_err not in err:
        error = f"{err}; system resolver: {sys_err}"
    return DnsAnswer(name, (), tuple(cnames), "dns", error, time.monotonic() - start)


def _is_ip(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _filter(addresses: Sequence[str], family: int) -> tuple[str, ...]:
    if family == socket.AF_INET:
        return tuple(a for a in addresses if ":" not in a)
    if family == socket.AF_INET6:
        return tuple(a for a in addresses if ":" in a)
    return tuple(addresses)
