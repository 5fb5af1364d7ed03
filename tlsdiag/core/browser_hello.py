"""Does a ClientHello the size of a current browser's get an answer? (pure: takes the outcomes)

Chromium, Firefox and clients on OpenSSL 3.5 offer the hybrid post-quantum group X25519MLKEM768
by default. Its key share (1,216 bytes) makes their ClientHello longer than one TCP segment
(Chromium 150's: 1,730-1,831 bytes, measured), where a classic one is about 300 bytes. A
middlebox (inspecting firewall or proxy, load balancer) or server that reads only the first
segment of a ClientHello, or refuses a group it does not know instead of ignoring it, then
resets or stalls those clients while curl, Python on OpenSSL 3.0 and this tool's own handshake
work (https://tldr.fail). ``check`` sends a hand-built hello like a browser's on a fresh
connection and, when it gets no answer, the same hello small, and reports when only the small
one is answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from tlsdiag import codes
from tlsdiag.core.findings import make_finding
from tlsdiag.facts.check import BrowserHelloFacts
from tlsdiag.model import Finding, Handshake

BROWSER_HELLO_SIZE = 1800  # bytes: about Chromium 150's ClientHello record (1,730-1,831)


class HelloAnswer(NamedTuple):
    """What one hand-built ClientHello got back."""

    answered: bool  # a TLS answer: ServerHello, HelloRetryRequest or an alert
    words: str  # what came back, in words ("ServerHello, X25519MLKEM768", "reset ...")
    lost: str = ""  # when not answered: "reset", "eof", "timeout", "connect" or "not_tls"


class BrowserHello(NamedTuple):
    """The browser-sized hello and its small twin (sent only when the large one got no
    answer), sent to the same address."""

    size: int
    large: HelloAnswer
    small: HelloAnswer | None


_WHAT = {
    "reset": "gets the connection reset",
    "eof": "gets the connection closed unanswered",
    "timeout": "gets no answer",
}


def browser_hello_facts(bh: BrowserHello) -> BrowserHelloFacts:
    """The two answers, for the report's ``browser_hello`` facts."""
    facts: BrowserHelloFacts = {"bytes": bh.size, "answer": bh.large.words}
    if bh.small is not None:
        facts["small_hello_answer"] = bh.small.words
    return facts


def browser_hello_findings(
    bh: BrowserHello | None,
    clients: Callable[[], Sequence[str]],
    *,
    inspected: bool,
    own: Handshake | None,
) -> list[Finding]:
    """``network.reset`` when the browser-sized hello is lost and its small twin is answered.

    Args:
        bh: the outcomes (None when not sent: options the user forced, no connection, or
            ``--no-browser-hello``).
        clients: gives the clients that offer X25519MLKEM768 by default (``tls_client_profiles``).
        inspected: whether this connection is inspected: then the inspecting device is the
            likeliest reader of only one segment, and the finding says so (evidence ``where``).
        own: this check's own handshake, None when it was reset (its ClientHello was as large:
            an OpenSSL that offers X25519MLKEM768 itself); the finding then explains that reset.

    Returns:
        One finding, or none (both answered; both lost, which says nothing about size; no TCP).
    """
    if bh is None or bh.large.answered or bh.large.lost not in _WHAT:
        return []
    if bh.small is None or not bh.small.answered:
        return []
    who = ", ".join(clients()) or "current browsers"
    ours = (
        "and so did this check's own handshake"
        if own is not None
        else "while this check's own handshake was reset as well: this machine's TLS library "
        "offers the same group (OpenSSL 3.5 and later do), so its ClientHello is as large"
    )
    return [
        make_finding(
            codes.NETWORK_RESET,
            title=f"A browser-sized ClientHello ({bh.size} bytes) {_WHAT[bh.large.lost]}",
            detail=(
                f"A TLS 1.3 ClientHello of {bh.size} bytes offering the post-quantum group "
                f"X25519MLKEM768, as {who} send by default, {bh.large.words}; the same hello "
                f"without that key share got an answer ({bh.small.words}), {ours}. "
                "Something in the path (an inspecting firewall or proxy, "
                "a load balancer) or the server reads only the first TCP segment of a "
                "ClientHello, or refuses a group it does not know instead of ignoring it "
                "(https://tldr.fail). Those browsers fail here (ERR_CONNECTION_RESET, "
                "ERR_CONNECTION_CLOSED, ERR_SSL_PROTOCOL_ERROR or a timeout) while curl and "
                "Python on OpenSSL 3.0 work."
            ),
            evidence={
                "client_hello_bytes": str(bh.size),
                "browser_hello_answer": bh.large.words,
                "small_hello_answer": bh.small.words,
                "where": "inspection" if inspected else "path",
            },
            remediation=(
                "Update the device that drops it (the inspecting firewall or proxy, the load "
                "balancer, or the server's TLS stack) so it reads a ClientHello spread over "
                "several TCP segments and ignores groups it does not know; `tlsdiag compare` "
                "tells whether the inspecting path is the one."
            ),
        )
    ]
