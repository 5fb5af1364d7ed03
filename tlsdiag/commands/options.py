"""The options shared by ``check``, ``probe`` and ``issuer``, validated and turned into
``CheckOptions`` (the ``--cafile`` bundle is read here)."""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Mapping, Sequence
from pathlib import Path

from tlsdiag.commands.check import CheckOptions
from tlsdiag.core import certs as C
from tlsdiag.core.issuer.verdict import compile_expect_issuer, normalize_fingerprint
from tlsdiag.core.target import normalize_host, parse_alpn, parse_connect_to, parse_resolve
from tlsdiag.errors import UsageError
from tlsdiag.facts.ids import RootSetId
from tlsdiag.net.probe import ProbeOptions
from tlsdiag.net.tunnel import select_proxy
from tlsdiag.stores.bundles import RootSet, load_cafile


def load_cafiles(paths: Sequence[Path] | None) -> RootSet | None:
    """Every ``--cafile`` given, as one ``--cafile`` root set (duplicates once), or None.

    Raises:
        InputError: a file is unreadable or holds no certificate.
    """
    if not paths:
        return None
    sets = [load_cafile(p) for p in paths]
    seen: set[str] = set()
    certs = []
    for cert in (c for s in sets for c in s.certs):
        if C.fingerprint(cert) not in seen:
            seen.add(C.fingerprint(cert))
            certs.append(cert)
    return RootSet(RootSetId.CAFILE, ", ".join(s.source for s in sets), tuple(certs))


def build_options(
    *,
    resolve: list[str] | None,
    connect_to: list[str] | None,
    servername: str | None,
    no_sni: bool,
    cafile: Sequence[Path] | None,
    timeout: float,
    ipv4: bool,
    ipv6: bool,
    no_http: bool,
    tls1_2: bool = False,
    tls1_3: bool = False,
    cipher: str | None = None,
    alpn: str | None = None,
    revocation: bool = True,
    browser_hello: bool = False,
    command: str = "check",
    expect_issuer: str | None = None,
    expect_fingerprint: str | None = None,
    app: str | None = None,
    platform: str = "",
    proxy: str | None = None,
    proxy_user: str | None = None,
    noproxy: str | None = None,
    env: Mapping[str, str] | None = None,
) -> CheckOptions:
    """Validate the shared options and build ``CheckOptions`` (usage errors exit 2)."""
    if ipv4 and ipv6:
        raise UsageError("-4 and -6 cannot be used together")
    if tls1_2 and tls1_3:
        raise UsageError("--tls1_2 and --tls1_3 cannot be used together")
    if no_sni and servername:
        raise UsageError("--no-sni and --servername cannot be used together")
    try:
        rules = tuple(parse_resolve(r) for r in resolve or ())
        moves = tuple(parse_connect_to(c) for c in connect_to or ())
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if servername is not None:
        try:
            servername = normalize_host(servername, f"--servername {servername}")[0]
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    if cipher:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).set_ciphers(cipher)
        except ssl.SSLError as exc:
            raise UsageError(f"--cipher {cipher!r}: no cipher matches this list") from exc
    alpn_list: tuple[str, ...] = ("http/1.1",)
    try:
        if alpn is not None:
            alpn_list = parse_alpn(alpn)
        if expect_fingerprint is not None:
            normalize_fingerprint(expect_fingerprint)
        if expect_issuer is not None:
            if not expect_issuer.strip():
                raise ValueError(
                    "--expect-issuer '': an empty pattern matches every issuer (is a variable "
                    "unset?)"
                )
            compile_expect_issuer(expect_issuer)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        route = select_proxy(
            proxy,
            proxy_user=proxy_user,
            noproxy=noproxy,
            env=os.environ if env is None else env,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    ca = load_cafiles(cafile)
    family = socket.AF_INET if ipv4 else socket.AF_INET6 if ipv6 else socket.AF_UNSPEC
    probe_opts = ProbeOptions(
        servername=servername,
        no_sni=no_sni,
        resolve=rules,
        connect_to=moves,
        timeout=timeout,
        family=family,
        http=not no_http,
        tls_version="TLSv1.2" if tls1_2 else "TLSv1.3" if tls1_3 else None,
        ciphers=cipher,
        alpn=alpn_list,
        proxy=route,
    )
    return CheckOptions(
        probe=probe_opts,
        cafile=ca,
        revocation=revocation,
        browser_hello=browser_hello,
        command=command,
        expect_issuer=expect_issuer,
        expect_fingerprint=expect_fingerprint,
        app=app,
        platform=platform,
    )
