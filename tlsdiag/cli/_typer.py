"""What only the typer path needs (this module imports typer; the command modules do not).

- :class:`OneLineErrors`, the root group: a bad option value is one ``error:`` line and a hint;
- the shared option aliases (``O.FormatOpt``, ``O.ResolveOpt`` ...) the command signatures name;
- :func:`add_command`, which gives a command module the names its annotations use (``typer``,
  ``O``: imported there only for type checkers) before typer reads its signature;
- :func:`tag_uncaught`, typer's pretty traceback for an exception the fast path did not expect.

Command modules import no typer, so ``tlsdiag.cli._fast`` can run a command without it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FunctionType
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from tlsdiag.cli._common import EXIT_USAGE, sigterm_unwinds, timeout_seconds
from tlsdiag.cli._output import refuse_existing, tolerate_encodings
from tlsdiag.errors import InputError, UsageError
from tlsdiag.model import Format

PRETTY_EXCEPTIONS_SHOW_LOCALS = False
"""Never show locals in a traceback (they can hold private keys)."""

_CLICK_USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)
"""Click's ``UsageError`` (bad option values, unknown options, missing arguments)."""


def output_callback(ctx: typer.Context, value: Path | None) -> Path | None:
    """Check ``--output`` before the command runs (``--force`` is eager, so already parsed)."""
    if value is not None:
        try:
            refuse_existing(value, force=bool(ctx.params.get("force")))
        except (UsageError, InputError) as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            detail = exc.message.removeprefix(f"--output {value}: ")
            raise typer.BadParameter(f"{value} {detail}{hint}") from None
    return value


FormatOpt = Annotated[
    Format,
    typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Short for --format json.")]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        callback=output_callback,
        help="Write the report to this file instead of stdout (never replaces a file "
        "without --force).",
    ),
]
ForceOpt = Annotated[
    bool, typer.Option("--force", is_eager=True, help="Replace an existing --output file.")
]

ResolveOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--resolve",
        metavar="HOST:PORT:ADDR",
        help="Use ADDR for HOST:PORT instead of DNS (repeatable, as in curl).",
    ),
]
ConnectToOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--connect-to",
        metavar="HOST1:PORT1:HOST2:PORT2",
        help="Connect to HOST2:PORT2 for requests to HOST1:PORT1 (as in curl).",
    ),
]
ServernameOpt = Annotated[
    str | None, typer.Option("--servername", help="SNI to send (default: the target host).")
]
NoSniOpt = Annotated[bool, typer.Option("--no-sni", help="Send no SNI.")]
CafileOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--cafile",
        "--cacert",
        help="Extra trusted roots (PEM bundle), like curl --cacert (repeatable: all are used).",
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        callback=timeout_seconds,
        help="Seconds per step (more than 0, at most 300).",
    ),
]
Ipv4Opt = Annotated[bool, typer.Option("-4", "--ipv4", help="Use IPv4 addresses only.")]
Ipv6Opt = Annotated[bool, typer.Option("-6", "--ipv6", help="Use IPv6 addresses only.")]
NoHttpOpt = Annotated[
    bool,
    typer.Option("--no-http", help="Skip the HTTP request after the handshake (no clock check)."),
]
Tls12Opt = Annotated[bool, typer.Option("--tls1_2", "--tls1.2", help="Only TLS 1.2 (as s_client).")]
Tls13Opt = Annotated[bool, typer.Option("--tls1_3", "--tls1.3", help="Only TLS 1.3 (as s_client).")]
CipherOpt = Annotated[
    str | None, typer.Option("--cipher", help="OpenSSL cipher list for TLS 1.2 and below.")
]
AlpnOpt = Annotated[
    str | None, typer.Option("--alpn", help="Comma-separated ALPN protocols to offer.")
]

# -x / --proxy, as in curl (HTTPS_PROXY / NO_PROXY are read when -x is not given)
ProxyOpt = Annotated[
    str | None,
    typer.Option(
        "-x",
        "--proxy",
        metavar="URL",
        help="Go through this HTTP proxy (CONNECT), like curl -x; -x '' ignores HTTPS_PROXY.",
    ),
]
ProxyUserOpt = Annotated[
    str | None,
    typer.Option("--proxy-user", metavar="USER:PASSWORD", help="Basic credentials for the proxy."),
]
NoproxyOpt = Annotated[
    str | None,
    typer.Option(
        "--noproxy", metavar="HOSTS", help="Comma-separated hosts that go direct (as NO_PROXY)."
    ),
]


class OneLineErrors(TyperGroup):
    """The root command: a bad option value is one ``error:`` line and a hint (exit 2), not
    Click's usage block; stdout/stderr never fail on characters their encoding lacks."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        tolerate_encodings()
        try:
            with sigterm_unwinds():
                rv = super().main(
                    args,
                    prog_name,
                    complete_var,
                    standalone_mode=False,
                    windows_expand_args=windows_expand_args,
                    **extra,
                )
        except _CLICK_USAGE_ERROR as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                exc.show()  # type: ignore[attr-defined]
                code = int(getattr(exc, "exit_code", EXIT_USAGE))
            else:
                ctx = getattr(exc, "ctx", None)
                where = ctx.command_path if ctx is not None else "tlsdiag"
                message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
                sys.stderr.write(f"error: {where}: {message}\n")
                sys.stderr.write(f"hint: {where} --help\n")
                code = EXIT_USAGE
        except typer.Abort:
            sys.stderr.write("interrupted\n")
            code = 130
        else:
            code = rv if isinstance(rv, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)


def prepare(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``func``'s module the names its annotations use, so typer can evaluate them."""
    if not isinstance(func, FunctionType):
        raise TypeError(f"not a function: {func!r}")
    func.__globals__.setdefault("typer", typer)
    func.__globals__.setdefault("O", sys.modules[__name__])
    return func


def add_command(app: typer.Typer, name: str, func: Callable[..., Any]) -> None:
    """Register ``func`` as the command ``name`` of ``app``."""
    app.command(name)(prepare(func))


def tag_uncaught(exc: Exception) -> None:
    """Mark ``exc`` as typer's ``Typer.__call__`` does, so its hook prints the traceback."""
    from typer import main
    from typer.models import DeveloperExceptionConfig

    if sys.excepthook != main.except_hook:
        sys.excepthook = main.except_hook
    config = DeveloperExceptionConfig(
        pretty_exceptions_enable=True,
        pretty_exceptions_show_locals=PRETTY_EXCEPTIONS_SHOW_LOCALS,
        pretty_exceptions_short=True,
    )
    setattr(exc, main._typer_developer_exception_attr_name, config)
