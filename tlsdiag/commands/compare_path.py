"""The inspecting path of ``compare``: the embedded proxy (started in-process on 127.0.0.1 with
a throwaway CA), or the organisation's explicit proxy.

With the embedded proxy, ``--cafile`` is also what the proxy trusts upstream and ``--resolve``
tells it where to connect; its events say what it did with each connection.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509

from tlsdiag.core.certbuild import cert_pem
from tlsdiag.core.target import ResolveRule
from tlsdiag.net.tunnel import ProxyRoute
from tlsdiag.proxy.ca import CaMaterial, CaPaths, create_ca
from tlsdiag.proxy.events import ProxyEvent
from tlsdiag.proxy.listener import ProxyConfig, ResolveTo, RunningProxy
from tlsdiag.proxy.policy import Policy, policy_summary


@dataclass
class EmbeddedPath:
    """A running embedded proxy: where it listens, its root, the events it wrote."""

    route: ProxyRoute
    ca_cert: x509.Certificate
    ca_file: Path  # the throwaway root as PEM (for clients told to trust it)
    policy: Policy
    events: list[ProxyEvent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_event(self, ev: ProxyEvent) -> None:
        """The proxy's listener: keep every event."""
        with self.lock:
            self.events.append(ev)

    def snapshot(self) -> list[ProxyEvent]:
        """The events so far."""
        with self.lock:
            return list(self.events)

    def policy_facts(self) -> dict[str, object]:
        """The policy as the report shows it."""
        return policy_summary(self.policy)


def event_for(events: list[ProxyEvent], host: str) -> ProxyEvent | None:
    """The last event of a CONNECT to ``host`` (by SNI or CONNECT host)."""
    host = host.lower()
    for ev in reversed(events):
        if host in (ev.sni.lower(), ev.host.lower()):
            return ev
    return None


@contextmanager
def embedded_proxy(
    *,
    policy: Policy,
    now: datetime,
    cafiles: Sequence[Path],
    resolve: tuple[ResolveRule, ...],
    timeout: float,
) -> Iterator[EmbeddedPath]:
    """Start the embedded proxy with a throwaway CA; stop it (and forget the CA) on exit."""
    cert, key = create_ca(
        now=now, machine="compare", days=365, common_name="tlsdiag compare throwaway CA"
    )
    with tempfile.TemporaryDirectory(prefix="tlsdiag-compare-") as tmp:
        ca_file = Path(tmp) / "compare-ca.pem"
        ca_file.write_bytes(cert_pem(cert))  # the certificate only; the key stays in memory
        path = EmbeddedPath(
            route=ProxyRoute("127.0.0.1", 0, source="--via embedded"),
            ca_cert=cert,
            ca_file=ca_file,
            policy=policy,
        )
        config = ProxyConfig(
            ca=CaMaterial(cert, key, CaPaths(ca_file, Path(tmp) / "unused-key.pem")),
            policy=policy,
            host="127.0.0.1",
            port=0,
            upstream_cafiles=tuple(cafiles),
            resolve=tuple(ResolveTo(r.host, r.port, r.addresses) for r in resolve),
            listener=path.on_event,
            connect_timeout=timeout,
            handshake_timeout=max(timeout, 5.0),
        )
        with RunningProxy(config) as running:
            path.route = ProxyRoute("127.0.0.1", running.port, source="--via embedded")
            yield path
