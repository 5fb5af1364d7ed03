"""``tlsdiag bundle``: everything support needs in one zip; ``tlsdiag bundle show FILE.zip``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from tlsdiag.cli import _target as T
from tlsdiag.cli._common import emit, handle_errors, stderr_console
from tlsdiag.errors import UsageError
from tlsdiag.model import Format

if TYPE_CHECKING:
    import typer

    from tlsdiag.cli import _typer as O
    from tlsdiag.core.bundle import Step


def _progress(step: Step, number: int, total: int) -> None:
    colour = {"ok": "green", "failed": "red"}.get(step.status, "yellow")
    detail = f" - {step.detail}" if step.detail and step.status != "ok" else ""
    stderr_console().print(
        f"[{number}/{total}] [{colour}]{step.status:<7}[/{colour}] {step.name} "
        f"({step.seconds:.1f} s){detail}",
        markup=True,
    )


def _show(args: list[str], as_json: bool) -> int:
    from tlsdiag.commands.bundle import show_bundle
    from tlsdiag.render.bundle import render_bundle_show

    if len(args) != 1:
        raise UsageError("bundle show takes one zip file", "try: tlsdiag bundle show FILE.zip")
    report = show_bundle(Path(args[0]))
    emit([report], Format.JSON if as_json else Format.CONSOLE, None, render_bundle_show)
    return 0 if report.facts["manifest_ok"] else 1


def bundle(
    hosts: Annotated[
        list[str],
        typer.Argument(
            help="Hosts to check (host, host:port, URL), or: show FILE.zip to read a bundle."
        ),
    ],
    har: Annotated[
        Path | None, typer.Option("--har", help="A HAR file of the failing page (redacted).")
    ] = None,
    keep_har: Annotated[
        bool, typer.Option("--keep-har", help="Include the redacted HAR in the bundle.")
    ] = False,
    note: Annotated[
        str, typer.Option("--note", help="What happened, when, what is affected.")
    ] = "",
    events: Annotated[
        Path | None, typer.Option("--events", help="The embedded proxy's events file (JSONL).")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="The embedded proxy's policy file (TOML).")
    ] = None,
    no_compare: Annotated[
        bool, typer.Option("--no-compare", help="Skip the bypassed-vs-inspected comparison.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="The zip to write (default: tlsdiag-bundle-HOST-TIME.zip)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing output.")] = False,
    resolve: O.ResolveOpt = None,
    connect_to: O.ConnectToOpt = None,
    servername: O.ServernameOpt = None,
    no_sni: O.NoSniOpt = False,
    cafile: O.CafileOpt = None,
    timeout: O.TimeoutOpt = 5.0,
    ipv4: O.Ipv4Opt = False,
    ipv6: O.Ipv6Opt = False,
    no_http: O.NoHttpOpt = False,
    tls1_2: O.Tls12Opt = False,
    tls1_3: O.Tls13Opt = False,
    cipher: O.CipherOpt = None,
    alpn: O.AlpnOpt = None,
    as_json: O.JsonOpt = False,
) -> None:
    """Collect everything a support ticket needs into one readable zip: check, issuer and compare
    per host, one trust matrix, the environment (OS, versions, time zone, clock skew, proxy
    settings, DNS servers), the HAR (cookies, credentials and tokens removed first), the embedded
    proxy's events and policy; report.json, report.html, certs/, har-summary.json, env.json,
    README.txt and manifest.json. Never a private key; a step that fails is recorded and the
    bundle is still written.

    tlsdiag bundle show FILE.zip prints a bundle's summary and verifies its manifest.

    Exit status: 0 written and no error found, 1 errors found (show: manifest mismatch), 2 bad
    usage or input (an existing output without --force), 3 tlsdiag failed.
    """
    with handle_errors():
        if hosts and hosts[0] == "show":
            raise SystemExit(_show(hosts[1:], as_json))
        from tlsdiag.commands.bundle import BundleOptions, result_report, run_bundle
        from tlsdiag.render.bundle import render_bundle
        from tlsdiag.render.html import to_html

        parsed = T.parse_targets(hosts, None)
        check_opts = T.build_from(locals(), browser_hello=True)  # its check is `check`'s
        flags = [*hosts]
        for name, value in (("--har", har), ("--events", events), ("--policy", policy)):
            if value is not None:
                flags += [name, str(value)]
        flags += ["--keep-har"] if keep_har else []
        flags += ["--no-compare"] if no_compare else []
        opts = BundleOptions(
            check=check_opts,
            har=har,
            note=note,
            events=events,
            policy=policy,
            keep_har=keep_har,
            compare=not no_compare,
            cafile_paths=tuple(cafile or ()),
            output=output,
            force=force,
            command_line=shlex.join(["tlsdiag", "bundle", *flags]),
        )
        result = run_bundle(parsed, opts, render_html=to_html, progress=_progress)
        stderr_console().print(f"wrote {result.path}")
        report = result_report(result)
        code = emit([report], Format.JSON if as_json else Format.CONSOLE, None, render_bundle)
    raise SystemExit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    from tlsdiag.cli._typer import add_command

    add_command(app, "bundle", bundle)
