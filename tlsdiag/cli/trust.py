"""``tlsdiag trust``: does every trust store on this machine trust the inspection root?"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from tlsdiag.cli import _target as T
from tlsdiag.cli._common import emit, handle_errors, pick_format, spinner, timeout_seconds
from tlsdiag.model import Format

if TYPE_CHECKING:
    import typer

    from tlsdiag.cli import _typer as O


def trust(
    ca: Annotated[
        Path | None,
        typer.Option("--ca", metavar="FILE", help="The root to look for: a PEM or DER file."),
    ] = None,
    fingerprint: Annotated[
        str | None,
        typer.Option(
            "--fingerprint",
            metavar="SHA256",
            help="The root to look for, by SHA-256 fingerprint (of the certificate or its key).",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="PATTERN",
            help="The root to look for, by name: a case-insensitive substring of its subject "
            "(* and ? wildcards).",
        ),
    ] = None,
    from_host: Annotated[
        str | None,
        typer.Option(
            "--from-host",
            metavar="HOST",
            help="The root of the chain HOST presents here (host, host:port or URL).",
        ),
    ] = None,
    time_host: Annotated[
        str | None,
        typer.Option(
            "--time-host",
            metavar="HOST",
            help="Compare the local clock with this server's HTTP Date header "
            "(default: the --from-host target).",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            callback=timeout_seconds,
            help="Network timeout in seconds (more than 0, at most 300).",
        ),
    ] = 5.0,
    resolve: O.ResolveOpt = None,
    connect_to: O.ConnectToOpt = None,
    servername: O.ServernameOpt = None,
    no_sni: O.NoSniOpt = False,
    cafile: O.CafileOpt = None,
    ipv4: O.Ipv4Opt = False,
    ipv6: O.Ipv6Opt = False,
    tls1_2: O.Tls12Opt = False,
    tls1_3: O.Tls13Opt = False,
    cipher: O.CipherOpt = None,
    alpn: O.AlpnOpt = None,
    show_absent: Annotated[
        bool,
        typer.Option("--all", help="Also list the stores not found on this machine (console)."),
    ] = False,
    fmt: O.FormatOpt = Format.CONSOLE,
    as_json: O.JsonOpt = False,
    output: O.OutputOpt = None,
    force: O.ForceOpt = False,
) -> None:
    """Audit every trust store on this machine for the inspection root.

    With no option, looks for every non-public root of the OS store (where inspection roots
    live). Prints one row per store present here (OS stores, certifi/requests, pip, conda, curl,
    git, Go, Node, npm, yarn, Java, Firefox and Chrome NSS, AWS/Azure/gcloud CLIs, Docker):
    where it is, whether it holds the root, whether an environment variable or config key
    overrides it, and the exact fix for each store that fails. Also checks the root itself
    (expiry, key, strict X.509) and, with --time-host or --from-host, the local clock.

    Exit status: 0 every present store trusts the root, 1 an error finding (a store that fails,
    an expired root, a clock off by more than an hour), 2 bad usage or input, 3 tlsdiag failed.
    """
    with handle_errors():
        from tlsdiag.commands.trust import TrustOptions, run_trust_here, validate
        from tlsdiag.render.trust import render_trust

        target_opts = T.build_from(locals(), revocation=False, command="trust")
        if from_host is not None:
            from tlsdiag.core.target import parse_target, split_userinfo

            try:
                parse_target(from_host)
            except ValueError:
                pass  # run_trust_here says what is wrong with it
            else:
                if split_userinfo(from_host.strip())[1]:
                    T.note_userinfo_dropped()
        opts = TrustOptions(
            ca=ca,
            fingerprint=fingerprint,
            name=name,
            from_host=from_host,
            time_host=time_host,
            timeout=timeout,
            probe_options=target_opts.probe,
            cafile=target_opts.cafile,
        )
        validate(opts)
        with spinner("reading the trust stores of this machine"):
            reports = run_trust_here(opts)

        renderer = partial(render_trust, show_absent=show_absent)
        code = emit(
            reports, pick_format(fmt, as_json), output, console_renderer=renderer, force=force
        )
    raise SystemExit(code)


def register(app: typer.Typer) -> None:
    """Add ``trust`` to the application."""
    from tlsdiag.cli._typer import add_command

    add_command(app, "trust", trust)
