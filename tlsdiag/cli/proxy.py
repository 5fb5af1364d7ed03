"""``tlsdiag proxy``: a small inspecting proxy for bypassed-vs-inspected comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tlsdiag.cli import _typer as O
from tlsdiag.cli._common import emit, handle_errors, pick_format, seconds
from tlsdiag.model import Format, Report

if TYPE_CHECKING:
    from tlsdiag.facts.proxy import EventFacts
    from tlsdiag.proxy.listener import ProxyConfig

proxy_app = typer.Typer(
    name="proxy",
    help="Run an inspecting HTTP proxy (re-signs TLS with the tlsdiag CA) and read its events.",
    rich_markup_mode=None,
    invoke_without_command=True,
)


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
        float,
        typer.Option(
            "--idle-timeout",
            callback=seconds(0.0, 86400.0, "--idle-timeout"),
            help="Close tunnels idle this long (seconds, at most 86400).",
        ),
    ] = 300.0,
    poll_us: Annotated[
        int,
        typer.Option(
            "--poll-us",
            min=0,
            max=10000,
            help="Poll up to this many microseconds for the next packet before sleeping"
            " (adaptive; 0: never poll).",
        ),
    ] = 100,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No line per connection on stderr.")
    ] = False,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Run the inspecting proxy until Ctrl-C (CONNECT for TLS, absolute URIs for plain HTTP).

    Clients: curl -x http://127.0.0.1:8080 --cacert "$(tlsdiag ca path | sed -n 2p)" URL.
    On exit it prints a summary of the connections (--json for JSON).
    Exit status: 0 stopped cleanly, 2 bad usage or input, 3 cannot listen or no CA.
    """
    if ctx.invoked_subcommand is not None:
        return
    with handle_errors():
        from tlsdiag.commands.proxy import proxy_config

        config = proxy_config(
            listen=listen,
            policy=policy,
            events=events,
            upstream_cafile=tuple(upstream_cafile or ()),
            resolve=tuple(resolve or ()),
            allow_client=tuple(allow_client or ()),
            ca_cert=ca_cert,
            ca_key=ca_key,
            max_connections=max_connections,
            idle_timeout=idle_timeout,
            leaf_key=leaf_key,
            poll_us=poll_us,
        )
        report = _run(config, quiet=quiet)
        code = emit([report], pick_format(fmt, as_json), output, force=force)
    raise typer.Exit(0 if code in (0, 1) else code)


def _run(config: ProxyConfig, *, quiet: bool) -> Report:
    from tlsdiag.cli._common import stderr_console
    from tlsdiag.commands.proxy import run_proxy, startup_facts
    from tlsdiag.render.proxy import event_line

    console = stderr_console()

    def on_event(ev: EventFacts) -> None:
        if not quiet:
            console.print(event_line(ev), soft_wrap=True)

    def ready(port: int) -> None:
        info = startup_facts(config, port)
        console.print(f"tlsdiag proxy listening on {info['url']}")
        console.print(f"  CA: {info['ca_cert']}  (SPKI sha256 {info['ca_spki_sha256']})")
        if info["events"]:
            console.print(f"  events: {info['events']}")
        s = info["policy"]
        console.print(
            f"  policy: {len(s['rules'])} rules, default {s['default_action']}, invalid "
            f"certificates: {s['invalid_certificate']}, mutual TLS: {s['mutual_tls']}, server "
            f"minimum {s['server_min_tls']}, default bypass list "
            f"{'on' if s['default_bypass'] else 'off'}"
        )
        console.print("  Ctrl-C to stop")

    return run_proxy(config, on_event=on_event, on_ready=ready)


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
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Show proxy events as a table, with findings per host.

    Exit status: 0 no error-level finding, 1 some, 2 unreadable file or bad option.
    """
    with handle_errors():
        from tlsdiag.commands.proxy import events_report_from_file
        from tlsdiag.render.proxy import render_events

        report = events_report_from_file(file, host=host, action=action, errors=errors, last=last)
        code = emit(
            [report], pick_format(fmt, as_json), output, console_renderer=render_events, force=force
        )
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the ``proxy`` group to the app."""
    app.add_typer(proxy_app, name="proxy")
