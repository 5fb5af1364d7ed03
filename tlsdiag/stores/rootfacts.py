"""What ``check`` asks about every root of the public and OS bundles, kept on disk between runs.

Each check needs, for the ~150 roots of each bundle: its SHA-256 fingerprint (is a root public?),
its subject as a ``certs.name_key`` (to index issuer look-ups without parsing every subject), its
organisations (does a missing issuer belong to a public CA or to a PKI trusted here?) and whether
it is a known product's inspection root. Deriving them costs more than the rest of a good check's
analysis, and the answers only change with the bundle, so they are kept as JSON in the user's
cache directory (the knowledge-base cache's: ``$TLSDIAG_CACHE_DIR``, ``$XDG_CACHE_HOME/tlsdiag``,
``~/.cache/tlsdiag``; ``TLSDIAG_NO_CACHE=1`` turns it off), keyed by the SHA-256 of the bundle's
bytes, the tlsdiag and cryptography versions (the answers are derived with both) and the vendor
data. Not by the file's path or times: two installations with the same bundle (two venvs with
the same certifi) share one file instead of replacing each other's. A missing, stale, corrupt
or foreign file is ignored and rewritten.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import cryptography
from cryptography import x509

from tlsdiag import __version__
from tlsdiag.core import certs as C
from tlsdiag.core.memo import IdentityMemo
from tlsdiag.stores.bundles import RootSet

CACHE_FORMAT = 1


class RootFacts(NamedTuple):
    """Answers about each root of a bundle, in the bundle's order."""

    fingerprints: tuple[str, ...]  # SHA-256, lower-case hex
    subject_keys: tuple[str, ...]  # certs.name_key of the subject
    orgs: tuple[tuple[str, ...], ...]  # the subject's organisation names
    vendors: tuple[tuple[str, str] | None, ...]  # (vendor id, root name) of an inspection root


def derive_facts(certs: Sequence[x509.Certificate]) -> RootFacts:
    """The facts of ``certs``, computed (what the cache keeps)."""
    from tlsdiag.core.issuer.signals import _org
    from tlsdiag.core.issuer.vendor_match import root_vendor

    return RootFacts(
        fingerprints=tuple(C.fingerprint(c) for c in certs),
        subject_keys=tuple(C.name_key(c.subject) for c in certs),
        orgs=tuple(tuple(_org(c.subject)) for c in certs),
        vendors=tuple(root_vendor(c) for c in certs),
    )


def _cache_file(roots: RootSet) -> tuple[Path, str] | None:
    """Where the facts of ``roots`` are cached and the key they must carry (None: no cache)."""
    from tlsdiag.kb._cache import cache_dir
    from tlsdiag.kb._load import data_key

    directory = cache_dir()
    if directory is None or not roots.digest:
        return None
    key = "/".join(
        (
            f"{__version__}/{CACHE_FORMAT}/cryptography-{cryptography.__version__}",
            data_key("vendors.toml"),
            roots.digest,
        )
    )
    stem = roots.name.name.lower()
    return directory / f"roots-{stem}-{zlib.crc32(key.encode()):08x}.json", key


def _strings(value: Any, count: int) -> tuple[str, ...] | None:
    if isinstance(value, list) and len(value) == count and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _decode(doc: dict[str, Any] | None, count: int) -> RootFacts | None:
    """The facts in a cache document of this key, or None when they are not ``count`` each."""
    if doc is None:
        return None
    fingerprints = _strings(doc.get("fingerprints"), count)
    subject_keys = _strings(doc.get("subject_keys"), count)
    orgs, vendors = doc.get("orgs"), doc.get("vendors")
    if fingerprints is None or subject_keys is None:
        return None
    if not isinstance(orgs, list) or len(orgs) != count:
        return None
    org_sets = [_strings(o, len(o)) if isinstance(o, list) else None for o in orgs]
    if not isinstance(vendors, list) or len(vendors) != count:
        return None
    matches: list[tuple[str, str] | None] = []
    for v in vendors:
        pair = _strings(v, 2) if v is not None else None
        if v is not None and pair is None:
            return None
        matches.append((pair[0], pair[1]) if pair is not None else None)
    if any(o is None for o in org_sets):
        return None
    return RootFacts(
        fingerprints, subject_keys, tuple(o for o in org_sets if o is not None), tuple(matches)
    )


def root_facts(roots: RootSet) -> RootFacts:
    """The facts of a bundle's roots: from the cache when it holds this bundle's, else derived
    (and cached). Sets without a digest (``--cafile``) are always derived."""
    where = _cache_file(roots)
    if where is not None:
        from tlsdiag.kb._cache import read_cache

        found = _decode(read_cache(*where), len(roots.certs))
        if found is not None:
            return found
    facts = derive_facts(roots.certs)
    if where is not None:
        from tlsdiag.kb._cache import write_cache

        doc = {
            "key": where[1],
            "fingerprints": facts.fingerprints,
            "subject_keys": facts.subject_keys,
            "orgs": facts.orgs,
            "vendors": facts.vendors,
        }
        write_cache(where[0], doc, stale=f"roots-{roots.name.name.lower()}-*.json")
    return facts


_MEMO: IdentityMemo[RootSet, RootFacts] = IdentityMemo(8)


def facts_of(roots: RootSet) -> RootFacts:
    """``root_facts`` once per process and root set (``check`` asks several times per run).

    Memoised by the set's identity: hashing a set would hash every certificate, which costs
    about as much as the answers."""
    return _MEMO.get(roots, root_facts)
