"""``proxy`` end to end: check the options and build the proxy's configuration, run the
inspecting proxy until Ctrl-C and report a summary of its connections, and read an events file
back (``proxy events``). The proxy itself lives in ``tlsdiag.proxy``."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlsdiag.errors import UsageError
from tlsdiag.model import Report
from tlsdiag.proxy import poll

if TYPE_CHECKING:
    from tlsdiag.facts.proxy import EventFacts
    from tlsdiag.proxy.listener import ProxyConfig


def parse_listen(value: str) -> tuple[str, int]:
    """``--listen HOST:PORT`` (``[v6]:port``, a bare port, ``localhost``) to an address.

    Raises:
        UsageError: not an IP address and port.
    """
    text = value.strip()
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    elif text.isascii() and text.isdigit():
        host, port = "127.0.0.1", text
    else:
        raise UsageError(f"--listen {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    host = host or "127.0.0.1"
    if not (port.isascii() and port.isdigit()) or not 0 <= int(port) < 65536:
        raise UsageError(f"--listen {value!r}: bad port")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise UsageError(f"--listen {value!r}: give an IP address to listen on") from None
        host = "127.0.0.1"
    return host, int(port)


def proxy_config(
    *,
    listen: str,
    policy: Path | None,
    events: Path | None,
    upstream_cafile: tuple[Path, ...],
    resolve: tuple[str, ...],
    allow_client: tuple[str, ...],
    ca_cert: Path | None,
    ca_key: Path | None,
    max_connections: int,
    idle_timeout: float,
    poll_us: int,
    leaf_key: str = "ec256",
) -> ProxyConfig:
    """Check the ``proxy`` options, load the CA and the policy, and build the configuration.

    Raises:
        UsageError: a bad option or combination.
        InputError: an unreadable ``--upstream-cafile``.
        ProxyError: no CA (from ``tlsdiag.proxy.ca``).
    """
    from tlsdiag.core.certbuild import KeyType
    from tlsdiag.core.target import parse_resolve
    from tlsdiag.proxy.ca import CaPaths, config_dir, load_ca
    from tlsdiag.proxy.forge import LEAF_KEY_TYPES
    from tlsdiag.proxy.listener import ProxyConfig, ResolveTo
    from tlsdiag.proxy.policy import default_policy, load_policy

    if leaf_key not in LEAF_KEY_TYPES:
        raise UsageError(f"--leaf-key {leaf_key!r}: expected ec256 or rsa2048")
    host, port = parse_listen(listen)
    nets = []
    for item in allow_client:
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise UsageError(f"--allow-client {item!r}: not an address or network") from None
    if not ipaddress.ip_address(host).is_loopback and not nets:
        raise UsageError(
            f"--listen {listen}: not a loopback address; say who may use the proxy with "
            "--allow-client NET (e.g. --allow-client 10.0.0.0/8)"
        )
    if (ca_cert is None) != (ca_key is None):
        raise UsageError("--ca-cert and --ca-key go together")
    paths = CaPaths(ca_cert, ca_key) if ca_cert and ca_key else CaPaths.in_dir(config_dir())
    ca = load_ca(paths)
    pol = load_policy(str(policy)) if policy is not None else default_policy()
    rules = []
    for spec in resolve:
        try:
            r = parse_resolve(spec)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        rules.append(ResolveTo(r.host, r.port, r.addresses))
    from tlsdiag.stores.bundles import load_cafile

    for cafile in upstream_cafile:  # read and checked now: a bad file is one line, exit 2
        load_cafile(cafile, option="--upstream-cafile")
    return ProxyConfig(
        ca=ca,
        policy=pol,
        host=host,
        port=port,
        events_path=events,
        upstream_cafiles=upstream_cafile,
        resolve=tuple(rules),
        allow_clients=tuple(nets),
        max_connections=max_connections,
        idle_timeout=idle_timeout,
        leaf_key=KeyType(leaf_key),
        poll_us=poll_us,
    )


def startup_facts(config: ProxyConfig, port: int) -> dict[str, Any]:
    """What the start banner shows: the URL, the CA, the events file, the policy summary."""
    from tlsdiag.proxy.policy import policy_summary
    from tlsdiag.proxy.report import spki_sha256_b64

    host = f"[{config.host}]" if ":" in config.host else config.host
    return {
        "url": f"http://{host}:{port}",
        "ca_cert": str(config.ca.paths.cert),
        "ca_spki_sha256": spki_sha256_b64(config.ca.cert),
        "events": str(config.events_path) if config.events_path else None,
        "policy": policy_summary(config.policy),
    }


def run_proxy(
    config: ProxyConfig,
    *,
    on_event: Callable[[EventFacts], None] | None = None,
    on_ready: Callable[[int], None] | None = None,
) -> Report:
    """Run the proxy until Ctrl-C (or SIGTERM) and report a summary of its connections.

    Args:
        config: from :func:`proxy_config`.
        on_event: called with each connection's event (JSON-ready) as it ends.
        on_ready: called with the port once the proxy listens.
    """
    import asyncio
    import contextlib
    import signal

    from tlsdiag.proxy.events import EventLog, ProxyEvent
    from tlsdiag.proxy.listener import ProxyServer, serve
    from tlsdiag.proxy.report import EventSummary

    _raise_fd_limit()
    summary = EventSummary()

    def listener(ev: ProxyEvent) -> None:
        data = ev.to_dict()
        summary.add(data)
        if on_event is not None:
            on_event(data)

    def ready(server: ProxyServer) -> None:
        if on_ready is not None:
            on_ready(server.port)

    log = EventLog(config.events_path, listener=listener, keep=0)
    started = datetime.now(UTC)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await serve(config, log, ready=ready, stop=stop)

    try:
        poll.run(main(), config.poll_us)
    except KeyboardInterrupt:
        pass
    finally:
        log.close()
    return summary.report(
        source=str(config.events_path or "(not written)"),
        now=datetime.now(UTC),
        since=started.isoformat().replace("+00:00", "Z"),
    )


def _raise_fd_limit() -> None:
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        import contextlib

        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(target, 65536), hard))


def events_report_from_file(
    file: Path, *, host: str | None, action: str | None, errors: bool, last: int | None
) -> Report:
    """``proxy events``: the events of ``file`` that pass the filters, with findings per host.

    Raises:
        UsageError: a bad ``--action``.
        InputError: an unreadable events file.
    """
    from tlsdiag.proxy.events import filter_events, read_events
    from tlsdiag.proxy.report import events_report, is_error_event

    if action is not None and action not in ("inspect", "bypass", "block"):
        raise UsageError(f"--action {action!r}: expected inspect, bypass or block")
    all_events = read_events(file)
    selected = filter_events(all_events, host=host, action=action)
    if errors:
        selected = [e for e in selected if is_error_event(e)]
    if last is not None:
        selected = selected[-last:]
    return events_report(
        selected,
        source=str(file),
        now=datetime.now(UTC),
        filters={"host": host, "action": action, "errors": errors, "last": last},
        total=len(all_events),
    )
