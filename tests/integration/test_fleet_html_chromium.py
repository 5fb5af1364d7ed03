"""The fleet HTML page in headless Chromium: it loads from file:// with no external asset,
shows the counts and bars, and its inline script sorts the machines table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tlsdiag.commands.fleet import run_fleet
from tlsdiag.render.fleet_html import to_fleet_html

from helpers import chromium
from helpers.fleet_docs import check, trust

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not chromium.installed(), reason="headless Chromium is not installed (chromium)"
    ),
]


def _dump_dom(url: str, home: Path) -> str:
    r = chromium.run_chromium(home, "--dump-dom", url)
    assert r.stdout, r.stderr[-2000:]
    return r.stdout


def test_fleet_page_renders_and_sorts(tmp_path: Path) -> None:
    docs = [
        trust("zulu", {"os-debian": "trusted", "certifi": "missing", "java": "missing"}),
        trust("alpha", {"os-debian": "trusted", "certifi": "trusted"}),
        trust("mike", {"os-debian": "trusted", "certifi": "missing"}, skew=-3600.0),
        check("zulu", "pypi.org:443", ("client.root_not_trusted",)),
        check("alpha", "pypi.org:443"),
    ]
    results = tmp_path / "results.jsonl"
    results.write_text("\n".join(json.dumps(d) for d in docs) + "\n<html>\n")
    page = tmp_path / "fleet.html"
    text = to_fleet_html(run_fleet([str(results)]))
    page.write_text(text)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # self-contained

    dom = _dump_dom(page.as_uri() + "#sort-0", tmp_path)
    assert 'data-sortable="ready"' in dom
    assert "Corp Inspection Root" in dom and "1 inputs not used: not-json" in dom
    # counts as bars: certifi trusted on 1 of 3 machines -> a third of the bar
    assert 'title="1/3"><span style="width:33%"' in dom
    assert "pypi.org:443" in dom and "client" in dom
    machines = dom[dom.index('id="machines"') :]
    order = re.findall(r"<tr><td>(alpha|mike|zulu)</td>", machines)
    assert order == ["alpha", "mike", "zulu"]  # sorted by name by the inline script

    unsorted = _dump_dom(page.as_uri(), tmp_path)
    machines = unsorted[unsorted.index('id="machines"') :]
    # as written: the most broken machine first
    assert re.findall(r"<tr><td>(alpha|mike|zulu)</td>", machines) == ["zulu", "mike", "alpha"]
