"""``explain``: a pasted error text to the finding codes that explain it (pure).

``engine`` recognises and ranks (``explain``, ``explanation_for_code``), ``hosts`` finds the host
the text talks about, ``suggest`` lists near misses, ``records`` holds what they return. The
knowledge they use is loaded by ``tlsdiag.kb.explain`` and ``tlsdiag.kb.findings``.
"""
