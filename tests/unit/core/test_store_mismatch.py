"""check warns when the OS store trusts the chain but the public bundle does not."""

from __future__ import annotations

from datetime import datetime

from tlsdiag import codes
from tlsdiag.core.chain import Roots, analyze_chain
from tlsdiag.core.verdict import store_mismatch_findings
from tlsdiag.facts.ids import RootSetId
from tlsdiag.lab.pki import make_ca, make_leaf
from tlsdiag.model import Severity


def test_os_yes_certifi_no_names_the_failing_tools(now: datetime) -> None:
    corp = make_ca("Corp Inspection Root", now=now)
    leaf = make_leaf(corp, now=now, names=["www.example.com"])
    public = Roots(RootSetId.PUBLIC, (make_ca("Some Public Root", now=now).cert,))
    a = analyze_chain(
        [leaf.cert],
        host="www.example.com",
        now=now,
        root_sets=[public, Roots(RootSetId.OS, (corp.cert,))],
    )
    [f] = store_mismatch_findings(a, platform="linux")
    assert f.code == codes.CLIENT_STORE_MISMATCH and f.severity is Severity.WARNING
    assert "requests" in f.detail and "Corp Inspection Root" in f.evidence["root"]
    # negative controls: both trust it, or neither does
    both = analyze_chain(
        [leaf.cert],
        host="www.example.com",
        now=now,
        root_sets=[Roots(RootSetId.PUBLIC, (corp.cert,)), Roots(RootSetId.OS, (corp.cert,))],
    )
    assert store_mismatch_findings(both, platform="linux") == []
    neither = analyze_chain([leaf.cert], host="www.example.com", now=now, root_sets=[public])
    assert store_mismatch_findings(neither, platform="linux") == []
