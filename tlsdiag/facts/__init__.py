"""Typed facts: one ``TypedDict`` family per command, the schema of ``Report.facts``.

Layer ``model`` (imports nothing but ``model``, ``codes`` and ``errors``). The producers in
``core`` and ``commands`` build these dictionaries and ``render`` reads them, so mypy checks
every key on both sides; the JSON output is the same dictionaries, unchanged. A renderer gets
the typed view of a report with the module's ``*_facts(report)`` function (a ``cast``: the
report's command says which schema its facts follow).

The closed sets that used to be display strings are ``StrEnum`` classes in :mod:`tlsdiag.facts.ids`:
``RootSetId`` (the root sets a chain is judged against) and ``Platform``.
"""
