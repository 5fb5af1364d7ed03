"""JSON output: stable snake_case keys, ISO 8601 UTC, ``schema_version`` (see README)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tlsdiag.model import Report


def to_json(reports: Sequence[Report]) -> str:
    """One report as an object, several as an array."""
    if len(reports) == 1:
        return json.dumps(reports[0].to_dict(), indent=2, ensure_ascii=False)
    return json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False)
