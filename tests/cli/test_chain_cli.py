"""``tlsdiag chain`` as a user runs it (issue 11 §3): exit status and JSON per variant, the new
options, and ``openssl verify -purpose sslserver`` agreeing on every path-validation case."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU
from typer.testing import CliRunner

from tlsdiag.cli.app import app

from helpers import certkit as K

runner = CliRunner()
OPENSSL = shutil.which("openssl")
NOW = datetime.now(UTC).replace(microsecond=0)


def _chain(tmp: Path, args: list[str]) -> tuple[int, Any]:
    """The exit status and the JSON document (Any: its keys are checked by the test)."""
    r = runner.invoke(app, ["chain", "--format", "json", "--no-aia", *args])
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, json.loads(r.stdout)


def _codes(report: Any) -> set[str]:
    return {f["code"] for f in report["findings"] if f["severity"] == "error"}


def _openssl_ok(
    tmp: Path,
    root: K.Made,
    leaf: x509.Certificate,
    chain: list[x509.Certificate],
    at: datetime | None = None,
) -> bool:
    assert OPENSSL is not None
    args = [
        OPENSSL,
        "verify",
        "-purpose",
        "sslserver",
        "-CAfile",
        str(K.write(tmp / "o-root.pem", root.cert)),
    ]
    if chain:
        args += ["-untrusted", str(K.write(tmp / "o-inter.pem", *chain))]
    if at is not None:
        args += ["-attime", str(int(at.timestamp()))]
    args.append(str(K.write(tmp / "o-leaf.pem", leaf)))
    return subprocess.run(args, capture_output=True, check=False).returncode == 0


def _cases() -> dict[str, tuple[K.Made, list[x509.Certificate]]]:
    root = K.cert("CLI Root", now=NOW)
    inter = K.cert("CLI Inter", now=NOW, issuer=root)
    notca = K.cert("CLI Not CA", now=NOW, issuer=root, ca=False)
    top = K.cert("CLI Top", now=NOW, issuer=root, path_length=0)
    low = K.cert("CLI Low", now=NOW, issuer=top)
    nc = K.cert("CLI Constrained", now=NOW, issuer=root, permitted_dns=["good.test"])
    v1 = K.resign(inter.cert, root.key, K.make_v1)

    def leaf(issuer: K.Made, **kw: object) -> x509.Certificate:
        kw.setdefault("names", ["a.test"])
        return K.cert("a.test", now=NOW, issuer=issuer, ca=False, **kw).cert  # type: ignore[arg-type]

    return {
        "good": (root, [leaf(inter), inter.cert]),
        "not-a-ca-uri-san": (root, [leaf(notca, names=["uri:https://a.test/"]), notca.cert]),
        "not-a-ca-no-san": (root, [leaf(notca, names=[]), notca.cert]),
        "path-length": (root, [leaf(low), low.cert, top.cert]),
        "name-constraints": (root, [leaf(nc), nc.cert]),
        "v1-intermediate": (root, [leaf(inter), v1]),
        "client-eku": (root, [leaf(inter, eku=[EKU.CLIENT_AUTH]), inter.cert]),
    }


CASES = _cases()
EXPECT = {  # case -> (exit status, the error code that names it)
    "good": (0, None),
    "not-a-ca-uri-san": (1, "server.chain_invalid"),
    "not-a-ca-no-san": (1, "server.chain_invalid"),
    "path-length": (1, "server.chain_invalid"),
    "name-constraints": (1, "server.chain_invalid"),
    "v1-intermediate": (1, "server.chain_invalid"),
    "client-eku": (1, "server.chain_invalid"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_path_cases_without_host(tmp_path: Path, name: str) -> None:
    root, chain = CASES[name]
    code, report = _chain(
        tmp_path,
        [
            str(K.write(tmp_path / "c.pem", *chain)),
            "--cafile",
            str(K.write(tmp_path / "r.pem", root.cert)),
        ],
    )
    want_exit, want_code = EXPECT[name]
    assert code == want_exit, report["findings"]
    if want_code:
        assert want_code in _codes(report)
        assert "server.untrusted_root" not in _codes(report)
    assert report["name_check"] == "not done (no --host given)"


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
@pytest.mark.parametrize("name", sorted(CASES))
def test_openssl_verify_agrees(tmp_path: Path, name: str) -> None:
    root, chain = CASES[name]
    assert _openssl_ok(tmp_path, root, chain[0], chain[1:]) is (EXPECT[name][0] == 0)


def test_duplicated_extension_is_exit_1_with_a_finding(tmp_path: Path) -> None:
    root = K.cert("Dup Root", now=NOW)
    leaf = K.cert("a.test", now=NOW, issuer=root, ca=False, names=["a.test"])
    dup = K.resign(leaf.cert, root.key, K.duplicate_extension("2.5.29.17"))
    code, report = _chain(
        tmp_path,
        [
            str(K.write(tmp_path / "d.pem", dup)),
            "--cafile",
            str(K.write(tmp_path / "r.pem", root.cert)),
        ],
    )
    assert code == 1
    assert "server.cert_malformed" in _codes(report)


def test_cafile_is_repeatable_and_cafile_only_uses_it_alone(tmp_path: Path) -> None:
    root = K.cert("Rep Root", now=NOW)
    other = K.cert("Other Root", now=NOW)
    leaf = K.cert("a.test", now=NOW, issuer=root, ca=False, names=["a.test"])
    c = str(K.write(tmp_path / "c.pem", leaf.cert))
    r1 = str(K.write(tmp_path / "r1.pem", root.cert))
    r2 = str(K.write(tmp_path / "r2.pem", other.cert))
    code, report = _chain(tmp_path, [c, "--cafile", r1, "--cafile", r2])
    assert code == 0, report["findings"]
    code, report = _chain(tmp_path, [c, "--cafile", r1, "--cafile-only"])
    assert code == 0
    assert list(report["trust"]) == ["--cafile"]
    r = runner.invoke(app, ["chain", c, "--cafile-only"])
    assert r.exit_code == 2 and "--cafile" in r.output


def test_untrusted_intermediates(tmp_path: Path) -> None:
    root, chain = CASES["good"]
    c = str(K.write(tmp_path / "leaf.pem", chain[0]))
    ca = str(K.write(tmp_path / "r.pem", root.cert))
    code, _ = _chain(tmp_path, [c, "--cafile", ca, "--cafile-only"])
    assert code == 1
    u = str(K.write(tmp_path / "u.pem", chain[1]))
    code, report = _chain(tmp_path, [c, "--cafile", ca, "--cafile-only", "--untrusted", u])
    assert code == 0, report["findings"]
    assert "--untrusted" in {p["source"] for p in report["path"]}


def test_at_time_judges_then_and_openssl_agrees(tmp_path: Path) -> None:
    root = K.cert("Time Root", now=NOW, not_before=NOW - timedelta(days=900))
    leaf = K.cert(
        "a.test",
        now=NOW,
        issuer=root,
        ca=False,
        names=["a.test"],
        not_before=NOW - timedelta(days=400),
        not_after=NOW - timedelta(days=100),
    ).cert
    args = [
        str(K.write(tmp_path / "c.pem", leaf)),
        "--cafile",
        str(K.write(tmp_path / "r.pem", root.cert)),
    ]
    code, report = _chain(tmp_path, args)
    assert code == 1 and "server.cert_expired" in _codes(report)
    then = NOW - timedelta(days=200)
    code, report = _chain(tmp_path, [*args, "--at-time", then.strftime("%Y-%m-%dT%H:%M:%SZ")])
    assert code == 0, report["findings"]
    assert report["at_time"] == then.strftime("%Y-%m-%dT%H:%M:%SZ")
    if OPENSSL:
        assert not _openssl_ok(tmp_path, root, leaf, [])
        assert _openssl_ok(tmp_path, root, leaf, [], at=then)
    r = runner.invoke(app, ["chain", *args, "--at-time", "yesterday"])
    assert r.exit_code == 2 and "ISO 8601" in r.output


def test_host_takes_any_a_label(tmp_path: Path) -> None:
    root = K.cert("Label Root", now=NOW)
    leaf = K.cert("xn--ls8h.test", now=NOW, issuer=root, ca=False, names=["xn--ls8h.test"])
    args = [
        str(K.write(tmp_path / "c.pem", leaf.cert)),
        "--cafile",
        str(K.write(tmp_path / "r.pem", root.cert)),
    ]
    code, report = _chain(tmp_path, [*args, "--host", "xn--ls8h.test"])
    assert code == 0, report["findings"]
    assert report["name_check"] == "done"
    code, report = _chain(tmp_path, [*args, "--host", "xn--ls9h.test"])
    assert code == 1 and "server.hostname_mismatch" in _codes(report)


def test_check_options_keep_every_cafile(tmp_path: Path) -> None:
    from tlsdiag.commands.options import build_options

    a, b = K.cert("First Root", now=NOW), K.cert("Second Root", now=NOW)
    paths = [K.write(tmp_path / "a.pem", a.cert), K.write(tmp_path / "b.pem", b.cert, a.cert)]
    opts = build_options(
        resolve=None,
        connect_to=None,
        servername=None,
        no_sni=False,
        cafile=paths,
        timeout=1.0,
        ipv4=False,
        ipv6=False,
        no_http=True,
    )
    assert opts.cafile is not None
    assert {c.subject for c in opts.cafile.certs} == {a.cert.subject, b.cert.subject}
    assert len(opts.cafile.certs) == 2  # the root in both files counts once
