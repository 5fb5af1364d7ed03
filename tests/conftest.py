"""Shared fixtures: the lab (started once), a clean environment, certificate factories."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

# pytest puts tests/ on sys.path for this file, so tests/netguard imports as a package here;
# Python subprocesses (the CLI run as a process, benchmarks' helpers) load the same guard by
# path, through tests/netguard/sitecustomize.py on their PYTHONPATH.
_GUARD_DIR = Path(__file__).parent / "netguard"
from netguard import guard  # noqa: E402  # before anything opens a socket
from netguard.dnsstub import NxdomainServer  # noqa: E402

guard.install()
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(_GUARD_DIR), os.environ.get("PYTHONPATH", "")) if p
)

from tlsdiag.cli import _runcache  # noqa: E402
from tlsdiag.lab.cases import Lab  # noqa: E402
from tlsdiag.stores import userfile  # noqa: E402

# The real clients the tests compare tlsdiag with; a test that needs a missing one is skipped
# with a reason containing "not installed", and the run says so at its start and its end.
OPTIONAL_CLIENTS = ("curl", "openssl", "certutil", "keytool", "chromium")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite fixtures/golden/*.json from the current output (tests/test_golden.py)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    import shutil

    found = [f"{c}={'yes' if shutil.which(c) else 'MISSING'}" for c in OPTIONAL_CLIENTS]
    return "optional clients: " + ", ".join(found)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the tests skipped because a client is not installed (none on a full CI run)."""
    missing: list[str] = []
    for rep in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(rep, "longrepr", None)
        reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
        if "not installed" in reason:
            missing.append(f"{rep.nodeid} ({reason.removeprefix('Skipped: ')})")
    terminalreporter.write_line(
        f"tests skipped for lack of a client: {len(missing)}" + "".join(f"\n  {m}" for m in missing)
    )


def _fail_on_refusals(when: str) -> None:
    refused = guard.take_refusals()
    if refused:
        pytest.fail(f"during {when}: " + "; ".join(refused), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """A test whose setup reached for a non-loopback address fails, naming it."""
    result = yield
    _fail_on_refusals("setup")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A test that reached for a non-loopback address fails, naming it."""
    result = yield
    _fail_on_refusals("the test")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    result = yield
    _fail_on_refusals("teardown")
    return result


# Variables that change which roots tools trust: tests must not depend on the machine's own.
TRUST_ENV = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "AWS_CA_BUNDLE",
    "PIP_CERT",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


@pytest.fixture(scope="session", autouse=True)
def _local_dns() -> Iterator[NxdomainServer]:
    """dnspython asks a DNS server on 127.0.0.1 that knows no name, never the machine's own."""
    import dns.resolver

    server = NxdomainServer()
    real = dns.resolver.Resolver.read_resolv_conf

    def local_only(self: dns.resolver.Resolver, f: object) -> None:
        self.nameservers = ["127.0.0.1"]
        self.port = server.port

    dns.resolver.Resolver.read_resolv_conf = local_only  # type: ignore[method-assign,assignment]
    yield server
    dns.resolver.Resolver.read_resolv_conf = real  # type: ignore[method-assign]
    server.close()


@pytest.fixture(scope="session")
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("tlsdiag-cache"))


@pytest.fixture(autouse=True)
def _run_cache_stopped() -> Iterator[None]:
    """A test that runs ``tlsdiag.cli.app.main`` in this process starts the run cache (which
    hooks ``re`` and ``dataclasses``): afterwards they get their own compiling back."""
    yield
    _runcache.stop()


@pytest.fixture(autouse=True)
def _inputs_forgotten() -> Iterator[None]:
    """Each command run in this process notes the (device, inode) of every file it reads, so
    that its output never replaces one. A test runs one command in a process that other tests
    ran commands in: a file they read and deleted can leave its inode number to this test's
    output file, which the command would then refuse as "also an input" (seen as a flaky
    failure of test_bundle's test_existing_output_needs_force). A CLI run is one process."""
    yield
    userfile._READ.clear()


@pytest.fixture(autouse=True)
def _clean_trust_env(monkeypatch: pytest.MonkeyPatch, _cache_dir: str) -> None:
    for name in TRUST_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("TLSDIAG_CACHE_DIR", _cache_dir)  # never write the user's cache


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """Every lab case running on 127.0.0.1 for the whole session."""
    saved = {k: os.environ.pop(k) for k in TRUST_ENV if k in os.environ}
    with Lab() as running:
        yield running
    os.environ.update(saved)


@pytest.fixture
def now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)
