"""``tlsdiag proxy``: a small inspecting proxy for bypassed-vs-inspected comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tlsdiag.cli._common import FormatOpt, JsonOpt, OutputOpt, emit, handle_errors, pick_format
from tlsdiag.errors import InputError, UsageError
from tlsdiag.model import Format, Report

proxy_app = typer.Typer(
    name="proxy",
    help="Run an inspecting HTTP proxy (re-signs TLS with the tlsdiag CA) and read its events.",
    rich_markup_mode=None,
    invoke_without_command=True,
)


def _listen(value: str) -> tuple[str, int]:
    import ipaddress

    text = value.strip()
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    elif text.isdigit():
        host, port = "127.0.0.1", text
    else:
        raise UsageError(f"--listen {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    host = host or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"--listen {value!r}: bad port")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise UsageError(f"--listen {value!r}: give an IP address to listen on") from None
        host = "127.0.0.1"
    return host, int(port)


@proxy_app.callback()
def proxy(
    ctx: typer.Context,
    listen: Annotated[
        str, typer.Option("--listen", help="Address to listen on (HOST:PORT; port 0 = any).")
    ] = "127.0.0.1:8080",
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Policy TOML file (see docs/proxy.md).")
    ] = None,
    events: Annotated[
        Path | None, typer.Option("--events", help="Append one JSON line per connection here.")
    ] = None,
    upstream_cafile: Annotated[
        list[Path] | None,
        typer.Option("--upstream-cafile", help="Also trust these roots toward servers."),
    ] = None,
    resolve: Annotated[
        list[str] | None,
        typer.Option("--resolve", help="HOST:PORT:ADDR: connect there without DNS (repeatable)."),
    ] = None,
    allow_client: Annotated[
        list[str] | None,
        typer.Option("--allow-client", help="Network allowed to use a non-loopback listener."),
    ] = None,
    ca_cert: Annotated[
        Path | None, typer.Option("--ca-cert", help="Sign with this CA certificate (PEM).")
    ] = None,
    ca_key: Annotated[Path | None, typer.Option("--ca-key", help="Key of --ca-cert (PEM).")] = None,
    leaf_key: Annotated[
        str, typer.Option("--leaf-key", help="Forged leaves' key: ec256 or rsa2048.")
    ] = "ec256",
    max_connections: Annotated[
        int, typer.Option("--max-connections", min=1, help="Concurrent client connections.")
    ] = 4096,
    idle_timeout: Annotated[
        float, typer.Option("--idle-timeout", min=1.0, help="Close tunnels idle this long (s).")
    ] = 300.0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No line per connection on stderr.")
    ] = False,
    fmt: FormatOpt = Format.CONSOLE,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Run the inspecting proxy until Ctrl-C (CONNECT for TLS, absolute URIs for plain HTTP).

    Clients: curl -x http://127.0.0.1:8080 --cacert "$(tlsdiag ca path | sed -n 2p)" URL.
    On exit it prints a summary of the connections (--json for JSON).
    Exit status: 0 stopped cleanly, 2 bad usage or input, 3 cannot listen or no CA.
    """
    if ctx.invoked_subcommand is not None:
        return
    with handle_errors():
        import ipaddress

        from tlsdiag.core.certbuild import KeyType
        from tlsdiag.core.target import parse_resolve
        from tlsdiag.proxy.ca import CaPaths, config_dir, load_ca
        from tlsdiag.proxy.forge import LEAF_KEY_TYPES
        from tlsdiag.proxy.policy import default_policy, load_policy
        from tlsdiag.proxy.server import ProxyConfig, ResolveTo

        if leaf_key not in LEAF_KEY_TYPES:
            raise UsageError(f"--leaf-key {leaf_key!r}: expected ec256 or rsa2048")
        host, port = _listen(listen)
        nets = []
        for item in allow_client or ():
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
        for spec in resolve or ():
            try:
                r = parse_resolve(spec)
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
            rules.append(ResolveTo(r.host, r.port, r.addresses))
        for cafile in upstream_cafile or ():
            if not cafile.is_file():
                raise InputError(f"--upstream-cafile {cafile}: not a readable file")
        config = ProxyConfig(
            ca=ca,
            policy=pol,
            host=host,
            port=port,
            events_path=events,
            upstream_cafiles=tuple(upstream_cafile or ()),
            resolve=tuple(rules),
            allow_clients=tuple(nets),
            max_connections=max_connections,
            idle_timeout=idle_timeout,
            leaf_key=KeyType(leaf_key),
        )
        report = _run(config, quiet=quiet)
        code = emit([report], pick_format(fmt, as_json), output)
    raise typer.Exit(0 if code in (0, 1) else code)


def _run(config: object, *, quiet: bool) -> Report:
    import asyncio
    import contextlib
    import signal
    from datetime import UTC, datetime

    from tlsdiag.cli._common import stderr_console
    from tlsdiag.proxy.events import EventLog, ProxyEvent
    from tlsdiag.proxy.policy import policy_summary
    from tlsdiag.proxy.report import EventSummary, spki_sha256_b64
    from tlsdiag.proxy.server import ProxyConfig, ProxyServer, serve
    from tlsdiag.render.proxy import event_line

    assert isinstance(config, ProxyConfig)
    console = stderr_console()
    _raise_fd_limit()

    summary = EventSummary()

    def on_event(ev: ProxyEvent) -> None:
        summary.add(ev.to_dict())
        if not quiet:
            console.print(event_line(ev.to_dict()), highlight=False, soft_wrap=True)

    log = EventLog(config.events_path, listener=on_event, keep=0)
    started = datetime.now(UTC)

    def ready(server: ProxyServer) -> None:
        host = f"[{config.host}]" if ":" in config.host else config.host
        console.print(f"tlsdiag proxy listening on http://{host}:{server.port}")
        console.print(
            f"  CA: {config.ca.paths.cert}  (SPKI sha256 {spki_sha256_b64(config.ca.cert)})"
        )
        if config.events_path:
            console.print(f"  events: {config.events_path}")
        s = policy_summary(config.policy)
        console.print(
            f"  policy: {len(s['rules'])} rules, default {s['default_action']}, invalid "
            f"certificates: {s['invalid_certificate']}, mutual TLS: {s['mutual_tls']}, server "
            f"minimum {s['server_min_tls']}, default bypass list "
            f"{'on' if s['default_bypass'] else 'off'}"
        )
        console.print("  Ctrl-C to stop")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await serve(config, log, ready=ready, stop=stop)

    try:
        asyncio.run(main())
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


@proxy_app.command("events")
def events_cmd(
    file: Annotated[Path, typer.Argument(help="Events file written by --events.")],
    host: Annotated[str | None, typer.Option("--host", help="Only this host (substring).")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only inspect, bypass or block.")
    ] = None,
    errors: Annotated[
        bool, typer.Option("--errors", help="Only connections with an error or TLS alert.")
    ] = False,
    last: Annotated[int | None, typer.Option("--last", min=1, help="Only the last N.")] = None,
    fmt: FormatOpt = Format.CONSOLE,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Show proxy events as a table, with findings per host.

    Exit status: 0 no error-level finding, 1 some, 2 unreadable file or bad option.
    """
    with handle_errors():
        from datetime import UTC, datetime

        from tlsdiag.proxy.events import filter_events, read_events
        from tlsdiag.proxy.report import events_report, is_error_event
        from tlsdiag.render.proxy import render_events

        if action is not None and action not in ("inspect", "bypass", "block"):
            raise UsageError(f"--action {action!r}: expected inspect, bypass or block")
        all_events = read_events(file)
        selected = filter_events(all_events, host=host, action=action)
        if errors:
            selected = [e for e in selected if is_error_event(e)]
        if last is not None:
            selected = selected[-last:]
        report = events_report(
            selected,
            source=str(file),
            now=datetime.now(UTC),
            filters={"host": host, "action": action, "errors": errors, "last": last},
            total=len(all_events),
        )
        code = emit([report], pick_format(fmt, as_json), output, console_renderer=render_events)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the ``proxy`` group to the app."""
    app.add_typer(proxy_app, name="proxy")
