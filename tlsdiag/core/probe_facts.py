"""The facts of ``check`` and ``probe`` (JSON-ready dicts) from the probe record.

Pure: each function takes a record from ``tlsdiag.model`` and returns plain values; the keys are
the JSON keys documented in the README.
"""

from __future__ import annotations

from tlsdiag.facts.check import (
    ConnectFacts,
    DnsFacts,
    EndpointFacts,
    HandshakeFacts,
    HttpFacts,
    TimingFacts,
)
from tlsdiag.model import Handshake, ProbeResult, Target


def seen_handshake(p: ProbeResult) -> Handshake | None:
    """The handshake that completed: the default one, else the legacy retry.

    Args:
        p: the probe record.

    Returns:
        The completed handshake, or None.
    """
    return p.handshake or p.legacy


def endpoint_facts(target: Target, p: ProbeResult) -> EndpointFacts:
    """What was asked for and where the handshake ran.

    Args:
        target: the parsed target.
        p: the probe record.

    Returns:
        The ``endpoint`` fact.
    """
    out: EndpointFacts = {
        "input": target.raw,
        "host": target.host,
        "unicode_host": target.unicode_host,
        "port": target.port,
        "path": target.path,
        "sni": p.sni,
        "address": p.address,
    }
    if p.proxy:
        out["proxy"] = p.proxy
    return out


def dns_facts(p: ProbeResult) -> DnsFacts:
    """How the name was resolved.

    Args:
        p: the probe record.

    Returns:
        The ``dns`` fact.
    """
    d = p.dns
    return {
        "name": d.name,
        "addresses": list(d.addresses),
        "cname_chain": list(d.cname_chain),
        "source": d.source,
        "error": d.error,
    }


def connect_facts(p: ProbeResult) -> list[ConnectFacts]:
    """One entry per TCP connection attempt.

    Args:
        p: the probe record.

    Returns:
        The ``connect`` fact.
    """
    return [
        {
            "address": a.address,
            "outcome": a.outcome,
            "message": a.message,
            "ms": round(a.seconds * 1000, 1),
        }
        for a in p.connects
    ]


def handshake_facts(hs: Handshake | None) -> HandshakeFacts | None:
    """The negotiated (or attempted) handshake.

    Args:
        hs: the handshake, or None when none was seen.

    Returns:
        The ``handshake`` fact, or None.
    """
    if hs is None:
        return None
    return {
        "version": hs.version,
        "cipher": hs.cipher,
        "cipher_bits": hs.cipher_bits,
        "alpn": hs.alpn,
        "sni": hs.sni,
        "settings": hs.settings,
        "client_certificate_requested": hs.cert_request is not None,
        "client_ca_names": list(hs.cert_request.ca_names) if hs.cert_request else [],
        "alerts_received": list(hs.alerts_received),
        "alerts_sent": list(hs.alerts_sent),
        "dh_bits": hs.dh_bits,
        "ocsp_stapled": bool(hs.ocsp_stapled),
        "certificates_sent": len(hs.chain_der),
    }


def http_facts(p: ProbeResult) -> HttpFacts | None:
    """The HTTP request made after the handshake.

    Args:
        p: the probe record.

    Returns:
        The ``http`` fact, or None when no request was made.
    """
    if p.http is None:
        return None
    return {
        "status": p.http.status,
        "reason": p.http.reason,
        "date": p.http.date,
        "server": p.http.server,
        "error": p.http.error,
    }


def timing_facts(p: ProbeResult) -> TimingFacts:
    """Milliseconds spent on DNS, connecting and the handshake.

    Args:
        p: the probe record.

    Returns:
        The ``timings_ms`` fact.
    """
    hs = seen_handshake(p)
    return {
        "dns": round(p.dns.seconds * 1000, 1),
        "connect": round(sum(a.seconds for a in p.connects) * 1000, 1),
        "handshake": round((hs.seconds if hs else 0.0) * 1000, 1),
    }
