"""A proxy's block page after a completed tunnel: ``policy.blocked``, not a server answer.

Pure: takes the probe record. Through an explicit proxy (``-x`` / ``HTTPS_PROXY``), an HTML page
with status 403, 407, 451 or 511 is how inspecting proxies refuse a site once they have
terminated TLS themselves; its ``<title>`` is the evidence, and the finding's title quotes it
(the page usually says why: "Invalid server certificate", "Category blocked"), so the verdict line
tells a proxy that enforces a server's certificate problem from one that refuses the site.
"""

from __future__ import annotations

import re

from tlsdiag import codes
from tlsdiag.core.findings import make_finding
from tlsdiag.kb.findings import finding_info
from tlsdiag.model import Finding, ProbeResult

BLOCK_STATUSES = frozenset({403, 407, 451, 511})
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_QUOTED = 80  # characters of the page's title quoted in the finding's title


def page_title(body: str) -> str:
    """The ``<title>`` of an HTML page or excerpt ("" when none), unescaped, on one line."""
    import html  # (its entity table: ~1 ms, only for a page with a title)

    m = _TITLE.search(body)
    return " ".join(html.unescape(m.group(1)).split())[:200] if m else ""


def block_page_findings(p: ProbeResult) -> list[Finding]:
    """``policy.blocked`` when the answer through a proxy is its block page.

    Args:
        p: the probe record.

    Returns:
        One finding, or none (direct connections, other statuses, pages without a title).
    """
    http = p.http
    if not p.proxy or http is None or http.status not in BLOCK_STATUSES:
        return []
    title = page_title(http.body_excerpt)
    if not title:
        return []
    quoted = title if len(title) <= _QUOTED else title[: _QUOTED - 1] + "…"
    return [
        make_finding(
            codes.POLICY_BLOCKED,
            title=f"{finding_info(codes.POLICY_BLOCKED).title}: {quoted!r}",
            detail=(
                f"Through the proxy, the request got {http.status} {http.reason} with a page "
                f"titled {title!r}: the proxy (not the server) refused it."
            ),
            evidence={
                "proxy": p.proxy,
                "http_status": f"{http.status} {http.reason}".strip(),
                "block_page_title": title,
            },
        )
    ]
