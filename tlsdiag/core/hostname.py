"""Does a certificate cover a host name? RFC 6125 rules, as browsers apply them."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


def _wildcard_match(pattern: str, host: str) -> bool:
    """``*.example.com`` matches exactly one left-most label; partial wildcards never match."""
    p_labels = pattern.split(".")
    h_labels = host.split(".")
    if len(p_labels) != len(h_labels) or len(p_labels) < 3:
        return False  # "*.com" and "*" are never accepted
    if p_labels[0] != "*" or any("*" in label for label in p_labels[1:]):
        return False
    return p_labels[1:] == h_labels[1:] and bool(h_labels[0])


def match_hostname(
    host: str, dns_names: Iterable[str], ip_names: Iterable[str], *, is_ip: bool
) -> str | None:
    """Return the SAN entry that covers ``host``, or None.

    Args:
        host: the requested name (A-label, lower case) or IP literal.
        dns_names: the certificate's dNSName entries.
        ip_names: the certificate's iPAddress entries.
        is_ip: True when ``host`` is an IP literal (only iPAddress entries count).
    """
    if is_ip:
        want = ipaddress.ip_address(host)
        for ip in ip_names:
            if ipaddress.ip_address(ip) == want:
                return ip
        return None
    host = host.lower().rstrip(".")
    for name in dns_names:
        pattern = name.lower().rstrip(".")
        if pattern == host:
            return name
        if pattern.startswith("*.") and _wildcard_match(pattern, host):
            return name
    return None
