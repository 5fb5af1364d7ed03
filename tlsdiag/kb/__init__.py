"""Typed loaders for the knowledge bases in ``tlsdiag/data/*.toml``, one module per knowledge base.

``findings`` (finding words), ``trust`` (trust-store catalogue), ``vendors`` (inspection products
and public issuers), ``explain`` (error patterns, context clues, explain-specific cause words).
Each loader reads its file once (cached), validates it strictly (unknown keys, duplicate ids and
unknown codes are errors) and returns frozen dataclasses. ``_load`` is the shared TOML reader.
"""
