"""Secrets never reach an output: a password in a target URL, in a ``-x`` proxy URL or in
``--proxy-user`` is absent from every format (JSON, HTML, console), from stderr and from error
messages; the user name of a target URL is dropped too, and the user is told so."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tlsdiag.cli.app import app
from tlsdiag.lab.cases import Lab
from tlsdiag.proxy.ca import CaMaterial, CaPaths, create_ca
from tlsdiag.proxy.listener import ProxyConfig, ResolveTo, RunningProxy
from tlsdiag.proxy.policy import default_policy

pytestmark = pytest.mark.integration
runner = CliRunner()
PASSWORD = "s3cretPW"
FORMATS = (["--json"], ["--format", "html"], ["--format", "console"])


@pytest.fixture(scope="module")
def proxy(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """The embedded proxy (it ignores Proxy-Authorization) and a CA file trusting it."""
    tmp = tmp_path_factory.mktemp("secrets")
    cert, key = create_ca(now=datetime.now(UTC), machine="test")
    from tlsdiag.core.certbuild import cert_pem

    pem = tmp / "ca.pem"
    pem.write_bytes(cert_pem(cert) + lab.root_pem_path.read_bytes())
    case = lab.cases["good"]
    config = ProxyConfig(
        ca=CaMaterial(cert, key, CaPaths(pem, tmp / "k.pem")),
        policy=default_policy(),
        port=0,
        upstream_cafiles=(lab.root_pem_path,),
        resolve=(ResolveTo(case.spec.host, case.port, ("127.0.0.1",)),),
    )
    with RunningProxy(config) as running:
        yield running.port, str(pem)


def _no_secret(r: object) -> None:
    out = r.output + r.stderr  # type: ignore[attr-defined]
    assert PASSWORD not in out, out
    assert "Traceback" not in out


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f[-1])
@pytest.mark.parametrize("command", ["check", "probe", "issuer"])
@pytest.mark.parametrize("how", ["url", "proxy-user"])
def test_proxy_credentials_never_reach_an_output(
    lab: Lab, proxy: tuple[int, str], command: str, how: str, fmt: list[str]
) -> None:
    port, pem = proxy
    case = lab.cases["good"]
    creds = (
        ["-x", f"http://bob:{PASSWORD}@127.0.0.1:{port}"]
        if how == "url"
        else ["-x", f"127.0.0.1:{port}", "--proxy-user", f"bob:{PASSWORD}"]
    )
    args = [command, case.target, *creds, "--noproxy", "", "--cafile", pem, "--timeout", "5"]
    r = runner.invoke(
        app, [*args, "--no-revocation", *fmt] if command == "check" else [*args, *fmt]
    )
    assert r.exit_code in (0, 1), r.output
    if command != "issuer" and fmt[-1] != "html":  # the route taken is shown, without password
        assert "via proxy http://127.0.0.1" in r.stdout and "user bob" in r.stdout
    _no_secret(r)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f[-1])
def test_compare_via_a_proxy_with_credentials_hides_the_password(
    lab: Lab, proxy: tuple[int, str], fmt: list[str]
) -> None:
    port, pem = proxy
    case = lab.cases["good"]
    r = runner.invoke(
        app,
        [
            "compare",
            case.target,
            "--via",
            f"http://bob:{PASSWORD}@127.0.0.1:{port}",
            "--resolve",
            case.resolve,
            "--proxy-ca",
            pem,
            "--cafile",
            str(lab.root_pem_path),
            "--no-revocation",
            "--timeout",
            "5",
            *fmt,
        ],
    )
    assert r.exit_code in (0, 1), r.output
    _no_secret(r)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "proxy_args",
    [
        lambda port: ["-x", f"http://bob:{PASSWORD}@127.0.0.1:{port}"],
        lambda port: ["-x", f"127.0.0.1:{port}", "--proxy-user", f"bob:{PASSWORD}"],
        lambda port: ["-x", f"socks5://bob:{PASSWORD}@127.0.0.1:{port}"],
        lambda port: ["-x", f"http://bob:{PASSWORD}@127.0.0.1:{port}/path"],
        lambda port: ["-x", f"http://bob:{PASSWORD}@bad host:{port}"],
        lambda port: ["-x", f"http://bob:{PASSWORD}@127.0.0.1:\u0660"],
        lambda port: ["-x", f"127.0.0.1:{port}", "--proxy-user", f"bob:{PASSWORD}\n"],
    ],
    ids=["unreachable", "unreachable-user", "scheme", "path", "host", "port", "newline"],
)
@pytest.mark.parametrize("command", ["check", "compare"])
def test_proxy_errors_never_show_the_password(proxy_args: object, command: str) -> None:
    port = _closed_port()
    extra = proxy_args(port)  # type: ignore[operator]
    target = f"127.0.0.1:{_closed_port()}"
    r = runner.invoke(app, [command, target, *extra, "--noproxy", "", "--timeout", "2"])
    assert r.exit_code in (2, 3), r.output
    assert r.stderr.startswith("error: ")
    _no_secret(r)


def test_target_userinfo_is_dropped_from_every_format(tmp_path: Path) -> None:
    url = f"https://alice:{PASSWORD}@127.0.0.1:{_closed_port()}/"
    for fmt in FORMATS:
        out = tmp_path / f"report-{fmt[-1]}"
        r = runner.invoke(app, ["check", url, "--timeout", "2", *fmt, "-o", str(out)])
        assert r.exit_code == 1, r.output
        text = out.read_text()
        assert PASSWORD not in text and "alice" not in text, text
        assert "user name and password in the URL are ignored" in r.stderr
        _no_secret(r)
