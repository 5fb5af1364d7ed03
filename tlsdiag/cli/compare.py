"""``tlsdiag compare``: the check bypassed and inspected, side by side, with a verdict."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from tlsdiag.cli import _target as T
from tlsdiag.cli._common import emit, handle_errors, pick_format, seconds, spinner
from tlsdiag.errors import UsageError
from tlsdiag.model import Format

if TYPE_CHECKING:
    import typer

    from tlsdiag.cli import _typer as O


def compare(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            help="HOST (host, host:port, https://host/path), or two saved "
            "`check --json` reports BEFORE.json AFTER.json.",
            show_default=False,
        ),
    ] = None,
    via: Annotated[
        str | None,
        typer.Option(
            "--via",
            metavar="embedded|URL",
            help="The inspecting path: 'embedded' (a proxy started here with a throwaway CA; "
            "the default) or the organisation's proxy http://proxy:port.",
        ),
    ] = None,
    proxy_ca: Annotated[
        Path | None,
        typer.Option("--proxy-ca", help="The organisation proxy's root (PEM); default: OS store."),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Policy TOML of the embedded proxy (see docs/proxy.md)."),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            metavar="COMMAND",
            help="Run COMMAND once bypassed, once through the embedded proxy, and compare.",
        ),
    ] = None,
    run_timeout: Annotated[
        float,
        typer.Option(
            "--run-timeout",
            min=1,
            max=3600,
            callback=seconds(0.0, 3600.0, "--run-timeout"),  # also refuses nan
            help="Seconds per --run.",
        ),
    ] = 60.0,
    resolve: O.ResolveOpt = None,
    connect_to: O.ConnectToOpt = None,
    servername: O.ServernameOpt = None,
    no_sni: O.NoSniOpt = False,
    cafile: O.CafileOpt = None,
    timeout: O.TimeoutOpt = 5.0,
    ipv4: O.Ipv4Opt = False,
    ipv6: O.Ipv6Opt = False,
    no_http: O.NoHttpOpt = False,
    no_revocation: Annotated[
        bool, typer.Option("--no-revocation", help="Skip OCSP/CRL revocation checks.")
    ] = False,
    tls1_2: O.Tls12Opt = False,
    tls1_3: O.Tls13Opt = False,
    cipher: O.CipherOpt = None,
    alpn: O.AlpnOpt = None,
    proxy: O.ProxyOpt = None,
    proxy_user: O.ProxyUserOpt = None,
    noproxy: O.NoproxyOpt = None,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Compare a host bypassed and inspected: the table, where the problem is, and the fix.

    The inspected path is the embedded proxy (default), --via URL / -x URL, or HTTPS_PROXY.
    Exit status: 0 both paths work and agree, 1 they do not, 2 bad usage or input, 3 tlsdiag
    failed (an unreachable proxy, for instance).
    """
    with handle_errors():
        items = list(inputs or [])
        chosen = pick_format(fmt, as_json)
        opts = T.build_from(
            locals(),
            revocation=not no_revocation,
            browser_hello=True,  # as `check` (not through the embedded proxy)
            proxy=proxy if via is None else via if via != "embedded" else "",
        )
        policy_obj = None
        if policy is not None:
            from tlsdiag.proxy.policy import load_policy

            policy_obj = load_policy(str(policy))
        if run is not None:
            if items:
                raise UsageError("--run takes no HOST: the command names its own")
            from tlsdiag.commands.compare_run import run_app_compare

            with spinner("running the command bypassed and inspected"):
                report = run_app_compare(
                    run,
                    opts,
                    cafile_paths=tuple(cafile or ()),
                    policy=policy_obj,
                    timeout=run_timeout,
                )
        elif len(items) == 2 and all(
            i.lower().endswith(".json") or os.path.lexists(i) for i in items
        ):
            from tlsdiag.commands.compare import compare_saved

            report = compare_saved(Path(items[0]), Path(items[1]))
        elif len(items) == 1:
            from tlsdiag.commands.compare import CompareOptions, run_compare

            target = T.parse_targets(items, None)[0]
            route = opts.probe.proxy
            if route is not None and via is not None:
                route = replace(route, source="--via", noproxy=())  # the path asked for
            if route is not None and not route.applies_to(target.host):
                route = None
            with spinner(f"comparing {target.display} bypassed and inspected"):
                report = run_compare(
                    target,
                    CompareOptions(
                        check=opts,
                        via=route,
                        proxy_ca=proxy_ca,
                        policy=policy_obj,
                        cafile_paths=tuple(cafile or ()),
                    ),
                )
        else:
            raise UsageError(
                "expected one HOST, two saved reports (BEFORE.json AFTER.json) or --run COMMAND",
                hint="try: tlsdiag compare example.com",
            )
        from tlsdiag.render.compare import render_compare

        emit([report], chosen, output, render_compare, force=force)
        verdict = report.facts.get("verdict") or {}
        code = 0 if verdict.get("origin") == "none" else 1
    raise SystemExit(code)


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    from tlsdiag.cli._typer import add_command

    add_command(app, "compare", compare)
