"""The proxy's block page: a small HTML page plus headers naming why a request was refused.

Plain data in (status, finding code, words), bytes out; the proxy writes them to the client.
"""

from __future__ import annotations

import html


def header_safe(text: str) -> str:
    """Printable ASCII only, at most 300 characters: safe inside one HTTP header line.

    Args:
        text: any text (may come from the network).

    Returns:
        The text with control and non-ASCII characters replaced by spaces.
    """
    return "".join(c if 0x20 <= ord(c) < 0x7F else " " for c in text)[:300]


def block_response(
    *, status: int, reason: str, code: str, title: str, detail: str, host: str
) -> bytes:
    """A small HTML page naming why the proxy refused, with the finding code in a header.

    Args:
        status: the HTTP status (403, 400, 502, 503 ...).
        reason: its reason phrase.
        code: the finding code ("" for none).
        title: the page title.
        detail: one sentence saying why (also sent as ``X-Tlsdiag-Reason``).
        host: the host the client asked for ("" when unknown).

    Returns:
        A complete HTTP/1.1 response (head and body), ``Connection: close``.
    """
    body = (
        '<!doctype html><html><head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(detail)}</p><p>Host: <code>{html.escape(host)}</code><br>"
        + (f"Finding: <code>{html.escape(code)}</code>" if code else "")
        + "</p>"
        "<p>Served by the tlsdiag inspecting proxy.</p></body></html>\n"
    ).encode()
    finding = f"X-Tlsdiag-Finding: {header_safe(code)}\r\n" if code else ""
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{finding}"
        f"X-Tlsdiag-Reason: {header_safe(detail)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return head + body
