"""Is this connection inspected, by whom, and is that expected? (pure)

The first question of the troubleshooting workflow: who issued the certificate this client sees?
A proxy or enterprise CA means TLS inspection is active (TLS Inspection = 1); a public CA means a
direct session (= 0). Signals, each reported as a reason:

1. the issuer, root or intermediate names match a product of ``data/vendors.toml``
   (anchored CN/O/OU patterns, like Chromium's MITM-software list);
2. the chain ends at a root outside the public root program (certifi) that this machine trusts:
   on a public name that is inspection, on an internal name it is internal PKI;
3. the leaf claims a public CA but does not chain to one and has no SCTs, or it was issued
   minutes ago (forged on the fly);
4. the caller's expectations (``--expect-issuer``, ``--expect-fingerprint``).

Nothing here does I/O: the caller passes the certificates, the trust verdicts, the clock and the
platform. Data files are read through ``tlsdiag.kb.vendors``.

Modules: ``signals`` (host kind, forged-leaf signs, the root, certificate helpers),
``vendor_match`` (signal 1), ``verdict`` (``assess_interception``: all signals and expectations
to one verdict and its findings), ``report`` (the ``issuer`` command's report).
"""
