"""Fix commands as data: the values of the ``${ROOT_*}`` placeholders and filling them into the
steps of ``data/trust_stores.toml`` (printed by ``tlsdiag trust``, never run). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from tlsdiag.core.trust.roots import RootInfo

DEFAULT_BUNDLE = "~/.config/tlsdiag/ca-bundle.pem"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48]


def fix_variables(root: RootInfo, bundle: str = DEFAULT_BUNDLE) -> dict[str, str]:
    """The values of ``${ROOT_PEM}``, ``${ROOT_ALIAS}``, ``${ROOT_NAME}``, ``${BUNDLE_PEM}``."""
    alias = _slug(root.common_name) or f"inspection-root-{root.sha256[:8]}"
    return {
        "ROOT_PEM": root.pem_path or f"{alias}.pem",
        "ROOT_ALIAS": alias,
        "ROOT_NAME": root.common_name,
        "BUNDLE_PEM": bundle,
    }


def render_steps(steps: Iterable[str], variables: Mapping[str, str]) -> list[str]:
    """Fill the root placeholders of fix steps."""
    out = []
    for step in steps:
        for key, value in variables.items():
            step = step.replace("${" + key + "}", value)
        out.append(step)
    return out
