"""Console rendering of ``tlsdiag ca path``: three bare lines (directory, certificate, key)."""

from __future__ import annotations

from tlsdiag.facts.lab import ca_path_facts
from tlsdiag.model import Report
from tlsdiag.render.term import Console


def render_ca_path(report: Report, console: Console) -> None:
    """The CA directory, certificate path and key path, one per line, nothing else (scripts
    read them with ``sed -n 2p``).

    Args:
        report: the ``ca path`` report (facts ``dir``, ``cert``, ``key``).
        console: where to print.
    """
    facts = ca_path_facts(report)
    for line in (facts["dir"], facts["cert"], facts["key"]):
        console.print(line, markup=False, soft_wrap=True)
