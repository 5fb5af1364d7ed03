"""The embedded inspecting proxy: CA store, certificate forging, policy, parsing, relay, events.

Split by job (like mitmproxy and h11): ``tls.py`` runs TLS over memory BIOs for one side of a
connection; ``decide.py`` takes policy and facts and returns plans (inspect, bypass, block,
signer, minimums, what a client failure means); ``relay.py`` and ``intercept.py`` move bytes and
fill the event by following those plans; ``listener.py`` accepts connections and keeps the caches.
Parsing (``parse.py``), policy (``policy.py``), decisions and certificate minting (``forge.py``)
are plain functions and classes without sockets.
"""
