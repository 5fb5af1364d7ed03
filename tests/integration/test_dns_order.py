"""Name resolution as this machine's apps do it: the system resolver first, DNS to explain."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from tlsdiag import codes
from tlsdiag.commands.check import CheckOptions, run_check
from tlsdiag.core.target import parse_target
from tlsdiag.lab.cases import Lab
from tlsdiag.net.dns import resolve
from tlsdiag.net.probe import ProbeOptions

_LOOKUP = """
import json, sys
from tlsdiag.core.target import parse_target
from tlsdiag.net.dns import resolve

answer = resolve(parse_target("localhost:443"))
print(json.dumps({"source": answer.source, "addresses": list(answer.addresses),
                  "dnspython": "dns.resolver" in sys.modules}))
"""


def test_a_name_the_system_resolver_knows_is_answered_without_dnspython() -> None:
    """localhost is in every hosts file: getaddrinfo answers, and dnspython (~50 ms of
    imports) is never loaded."""
    out = subprocess.run(
        [sys.executable, "-c", _LOOKUP], capture_output=True, text=True, timeout=60, check=True
    )
    got = json.loads(out.stdout)
    system = {str(i[4][0]) for i in socket.getaddrinfo("localhost", 443, 0, socket.SOCK_STREAM)}
    assert got == {"source": "system resolver", "addresses": got["addresses"], "dnspython": False}
    assert set(got["addresses"]) == system


def test_check_goes_where_the_system_resolver_points(lab: Lab) -> None:
    """A check of localhost reaches the lab server on 127.0.0.1, as curl would."""
    good = lab.cases["good"]
    port = int(good.target.rsplit(":", 1)[1])
    opts = CheckOptions(probe=ProbeOptions(timeout=5.0, family=socket.AF_INET))
    out = run_check(parse_target(f"localhost:{port}"), opts)
    dns = out.report.facts["dns"]
    assert dns["source"] == "system resolver" and dns["addresses"] == ["127.0.0.1"]
    # the lab's certificate names good.lab.test: the server was reached and judged
    assert codes.SERVER_HOSTNAME_MISMATCH in {f.code for f in out.report.findings}


def test_an_unknown_name_is_explained_by_both_resolvers() -> None:
    answer = resolve(parse_target("does-not-exist.invalid"), timeout=2.0)
    assert answer.addresses == ()
    assert "NXDOMAIN" in answer.error  # dnspython, asked because the system resolver failed
    assert "system resolver:" in answer.error
