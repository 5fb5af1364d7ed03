"""Scan an endpoint with hand-built ClientHellos: versions, suites in order, groups.

Each probe opens a TCP connection, sends one ClientHello from ``core.tlswire``, reads until
the server's first answer parses (ServerHello, HelloRetryRequest, alert, or not TLS), then
closes. Probes run in a thread pool whose size is the concurrency cap; every probe is bounded
by ``timeout``, so a stalling server costs about one timeout per phase, not per probe.
Socket errors become outcomes here, once.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from threading import Lock
from typing import assert_never

from tlsdiag import codes
from tlsdiag.core.scan_policy import short_form_findings
from tlsdiag.core.scan_result import ScanResult, VersionScan
from tlsdiag.core.target import ConnectTo
from tlsdiag.core.tlswire.hello import HelloSpec, client_hello
from tlsdiag.core.tlswire.reply import Alert, NotTls, ServerHello
from tlsdiag.kb.scan import VERSION_CODES, VERSION_NAMES, groups, suites, suites_by_code
from tlsdiag.model import Finding, ProbeFailure, ProbeResult
from tlsdiag.net.hello_exchange import Lost, Outcome, exchange

DEFAULT_CONCURRENCY = 10


class _Counter:
    def __init__(self) -> None:
        self.n = 0
        self.lock = Lock()

    def add(self) -> None:
        with self.lock:
            self.n += 1


class _Scanner:
    def __init__(self, address: str, port: int, sni: str, timeout: float) -> None:
        self.address, self.port, self.sni, self.timeout = address, port, sni, timeout
        self.count = _Counter()

    def ask(self, version: str, offer: Sequence[int], group_codes: Sequence[int]) -> Outcome:
        spec = HelloSpec(
            version=VERSION_CODES[version],
            suites=tuple(offer),
            random=os.urandom(32),
            server_name=self.sni,
            groups=tuple(group_codes),
            x25519_share=os.urandom(32),
            session_id=os.urandom(32) if version == "TLSv1.3" else b"",
        )
        self.count.add()
        return exchange(self.address, self.port, client_hello(spec), self.timeout)


def _offer(version: str) -> list[int]:
    return [s.code for s in suites().values() if s.usable_with(version)]


def _groups(version: str) -> list[int]:
    return [g.code for g in groups().values() if (g.tls13 if version == "TLSv1.3" else g.tls12)]


def _picked(version: str, out: Outcome, offered: Sequence[int]) -> int | None:
    """The suite the server chose when it accepted ``version``, else None."""
    ok = isinstance(out, ServerHello) and out.version == VERSION_CODES[version]
    return out.suite if ok and isinstance(out, ServerHello) and out.suite in offered else None


def _describe(version: str, out: Outcome) -> str:
    match out:
        case ServerHello():
            got = next((n for n, c in VERSION_CODES.items() if c == out.version), hex(out.version))
            kind = "HelloRetryRequest" if out.retry else "ServerHello"
            return kind if got == version else f"{kind} for {got}"
        case Alert():
            return f"alert {out.name}"
        case NotTls():
            return f"not TLS ({out.reason})"
        case Lost():
            return out.message
        case _:
            assert_never(out)


def _enumerate(sc: _Scanner, version: str, first: int) -> tuple[tuple[int, ...], bool | None]:
    """Suites in the server's order (removing each pick and asking again), then whether the
    server enforces that order (offer the first and last picks reversed)."""
    remaining = [c for c in _offer(version) if c != first]
    found = [first]
    gcodes = _groups(version)
    while remaining:
        pick = _picked(version, sc.ask(version, remaining, gcodes), remaining)
        if pick is None:
            break
        found.append(pick)
        remaining.remove(pick)
    order: bool | None = None
    if len(found) >= 2:
        pick = _picked(version, sc.ask(version, [found[-1], found[0]], gcodes), found)
        order = None if pick is None else pick == found[0]
    return tuple(found), order


def _group_ok(sc: _Scanner, version: str, group: int, offer: Sequence[int]) -> bool:
    out = sc.ask(version, offer, [group])
    if not isinstance(out, ServerHello) or out.version != VERSION_CODES[version]:
        return False
    if version == "TLSv1.3":
        return out.group == group
    return out.suite in offer


def _group_offers(
    picks: dict[str, int | None], chains: dict[str, Future[tuple[tuple[int, ...], bool | None]]]
) -> dict[str, list[int]]:
    """What to offer when asking about one group: any TLS 1.3 suite; in TLS 1.2 the accepted
    ECDHE_RSA suites (with ECDSA the certificate's curve must be offered too, so an ECDSA-only
    server's TLS 1.2 groups are not asked about)."""
    out: dict[str, list[int]] = {}
    if picks.get("TLSv1.3") is not None:
        out["TLSv1.3"] = _offer("TLSv1.3")
    if "TLSv1.2" in chains:
        by_code = suites_by_code()
        found = chains["TLSv1.2"].result()[0]
        rsa = [c for c in found if by_code[c].ecdhe and by_code[c].auth == "RSA"]
        if rsa:
            out["TLSv1.2"] = rsa
    return out


def _failure(outcomes: Sequence[Outcome], timeout: float) -> ProbeFailure | None:
    if any(isinstance(o, ServerHello | Alert) for o in outcomes):
        return None
    not_tls = [o for o in outcomes if isinstance(o, NotTls)]
    if not_tls:
        first = not_tls[0].first_bytes.decode("latin-1")
        printable = "".join(ch if 32 <= ord(ch) < 127 else "." for ch in first)
        return ProbeFailure(
            codes.NETWORK_NOT_TLS,
            "handshake",
            f"the server answered the ClientHello with {not_tls[0].reason[4:]}",
            f"first bytes: {printable!r}",
        )
    lost = [o for o in outcomes if isinstance(o, Lost)]
    kind, _ = Counter(o.kind for o in lost).most_common(1)[0]
    example = next(o for o in lost if o.kind == kind)
    if kind == "connect":
        return ProbeFailure(
            codes.NETWORK_CONNECT_FAILED, "connect", "TCP connection failed", example.message
        )
    detail = f"every ClientHello (SSL 3.0 to TLS 1.3) got the same: the server {example.message}"
    if kind == "timeout":  # accepted and never answered: its own finding, not a reset
        msg = f"the server did not answer any ClientHello within {timeout:g}s"
        return ProbeFailure(codes.NETWORK_TIMEOUT, "handshake", msg, detail)
    msg = "the server closed or reset the connection after the ClientHello"
    return ProbeFailure(codes.NETWORK_RESET, "handshake", msg, detail)


def scan(
    address: str,
    port: int,
    *,
    sni: str,
    target: str,
    timeout: float = 5.0,
    concurrency: int = DEFAULT_CONCURRENCY,
    full: bool = True,
    on_progress: Callable[[str], None] | None = None,
) -> ScanResult:
    """Scan one endpoint: every version, then per accepted version the suites in order and
    (when ``full``) the server-order check and the key-exchange groups.

    Never raises for problems of the target: they end up in ``ScanResult.failure``.
    """
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        sc = _Scanner(address, port, sni, timeout)
        firsts = list(pool.map(lambda v: sc.ask(v, _offer(v), _groups(v)), VERSION_NAMES))
        failure = _failure(firsts, timeout)
        picks = {v: _picked(v, o, _offer(v)) for v, o in zip(VERSION_NAMES, firsts, strict=True)}
        if on_progress:
            on_progress(f"versions: {', '.join(v for v, p in picks.items() if p) or 'none'}")
        chains = {v: pool.submit(_enumerate, sc, v, p) for v, p in picks.items() if p is not None}
        group_jobs: dict[tuple[str, int], Future[bool]] = {}
        if full:
            for v, offer in _group_offers(picks, chains).items():
                for gcode in _groups(v):
                    group_jobs[(v, gcode)] = pool.submit(_group_ok, sc, v, gcode, offer)
        results = []
        by_code = suites_by_code()
        gnames = {g.code: g.name for g in groups().values()}
        for v, first in zip(VERSION_NAMES, firsts, strict=True):
            if v not in chains:
                results.append(VersionScan(v, False, answer=_describe(v, first)))
                continue
            found, order = chains[v].result()
            accepted_groups = tuple(
                gnames[g] for (gv, g), job in group_jobs.items() if gv == v and job.result()
            )
            results.append(
                VersionScan(
                    v,
                    True,
                    suites=tuple(by_code[c].name for c in found),
                    server_order=order if full else None,
                    groups=accepted_groups,
                    groups_checked=any(gv == v for gv, _ in group_jobs),
                    answer=_describe(v, first),
                )
            )
    result = ScanResult(
        target=target,
        address=address,
        sni=sni,
        versions=tuple(results),
        failure=failure,
        probes=sc.count.n,
        seconds=time.monotonic() - start,
        full=full,
    )
    return result


def check_findings(
    p: ProbeResult, base: list[Finding], *, timeout: float, connect_to: Sequence[ConnectTo] = ()
) -> list[Finding]:
    """``check`` after a version or cipher failure: a short scan (versions and suites) names
    what the server speaks ("the server speaks only TLS 1.0"); other outcomes keep ``base``."""
    legacy = (codes.LEGACY_PROTOCOL_VERSION, codes.LEGACY_CIPHER_SUITE)
    if p.failure is None or p.failure.code not in legacy or not p.address:
        return base
    port = p.target.port
    for rule in connect_to:
        moved = rule.apply(p.target.host, p.target.port)
        if moved:
            port = moved[1]
            break
    result = scan(p.address, port, sni=p.sni, target=p.target.display, timeout=timeout, full=False)
    return short_form_findings(result, base)
