"""What a browser-sized ClientHello's answer means next to its small twin's (pure)."""

from __future__ import annotations

import pytest

from tlsdiag import codes
from tlsdiag.core.browser_hello import BrowserHello, HelloAnswer, browser_hello_findings
from tlsdiag.kb.findings import where_of
from tlsdiag.model import Handshake

OK = HelloAnswer(True, "ServerHello, x25519")
RESET = HelloAnswer(False, "reset the connection (RST) without answering", "reset")


OWN = Handshake(sni="a.test", version="TLSv1.3")


def _clients() -> list[str]:
    return ["Chrome / Edge 131+"]


def test_only_the_large_hello_lost_is_a_finding_placed_in_the_path() -> None:
    (f,) = browser_hello_findings(BrowserHello(1800, RESET, OK), _clients, inspected=False, own=OWN)
    assert f.code == codes.NETWORK_RESET
    assert f.title == "A browser-sized ClientHello (1800 bytes) gets the connection reset"
    assert "as Chrome / Edge 131+ send by default" in f.detail
    assert f.evidence["small_hello_answer"] == "ServerHello, x25519"
    assert where_of(f.code, f.evidence, inspected=False) == "path"
    (g,) = browser_hello_findings(BrowserHello(1800, RESET, OK), _clients, inspected=True, own=OWN)
    assert where_of(g.code, g.evidence, inspected=True) == "inspection"
    # a small hello refused with an alert is still an answer: the size made the difference
    refused = HelloAnswer(True, "alert protocol_version")
    assert browser_hello_findings(
        BrowserHello(1800, RESET, refused), _clients, inspected=False, own=OWN
    )


@pytest.mark.parametrize(
    ("kind", "words"),
    [("eof", "gets the connection closed unanswered"), ("timeout", "gets no answer")],
)
def test_closed_and_timed_out_are_named(kind: str, words: str) -> None:
    lost = HelloAnswer(False, "...", kind)
    (f,) = browser_hello_findings(BrowserHello(1800, lost, OK), _clients, inspected=False, own=OWN)
    assert f.title.endswith(words)


@pytest.mark.parametrize(
    "pair",
    [
        (OK, OK),  # both answered
        (HelloAnswer(True, "alert handshake_failure"), OK),  # a TLS answer, even a refusal
        (RESET, RESET),  # both lost: says nothing about the size
        (HelloAnswer(False, "not TLS (...)", "not_tls"), OK),  # not a lost hello
        (HelloAnswer(False, "refused", "connect"), OK),  # no TCP: not about the hello
    ],
)
def test_no_finding(pair: tuple[HelloAnswer, HelloAnswer]) -> None:
    large, small = pair
    found = browser_hello_findings(
        BrowserHello(1800, large, small), _clients, inspected=False, own=OWN
    )
    assert found == []


def test_nothing_asked_is_no_finding() -> None:
    assert browser_hello_findings(None, _clients, inspected=False, own=OWN) == []
    # the small twin not sent (it is sent only after a lost large one): nothing to compare
    lone = BrowserHello(1800, RESET, None)
    assert browser_hello_findings(lone, _clients, inspected=False, own=OWN) == []


def test_where_of_forced_and_inspection_codes() -> None:
    assert where_of(
        codes.NETWORK_RESET, {"forced_by_user": "--tls1_2", "where": "path"}, False
    ) == ("forced")
    assert where_of(codes.APP_MUTUAL_TLS, {}, inspected=False) == "client"
    assert where_of(codes.POLICY_BLOCKED, {}, inspected=True) == "inspection"
    assert where_of(codes.NETWORK_RESET, {"where": "elsewhere"}, inspected=False) == "network"


def test_own_handshake_reset_too_is_explained() -> None:
    """On a machine whose OpenSSL offers X25519MLKEM768 (3.5+) the check's own hello is as
    large: the finding then says so instead of claiming that handshake worked."""
    (f,) = browser_hello_findings(
        BrowserHello(1800, RESET, OK), _clients, inspected=False, own=None
    )
    assert "own handshake was reset as well" in f.detail
    assert "so did this check's own handshake" not in f.detail
