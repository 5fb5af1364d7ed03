"""Does every trust store on this machine trust the inspection root? (pure)

Given the root (a certificate, or just its name when the proxy does not send it) and the store
readings of ``tlsdiag.stores.engine`` (``records``), build one matrix row per store (``matrix``:
does it hold the root, what overrides it, how to fix it, with the fix steps filled in by
``fixes``), the findings that follow from the matrix (``findings``), the health of the root
itself (``health``), and the clock check (``clock``). ``roots`` finds the root among the stores.
No files, env, sockets or clock here: ``now`` is an argument.

For ``check``: ``store_gap.store_gap_summary(root_in_os=..., root_in_certifi=...)`` says which
tools fail when the chain verifies against one of the two but not the other, and
``store_gap.store_mismatch_finding(...)`` turns that into the ``client.store_mismatch`` finding.
"""
