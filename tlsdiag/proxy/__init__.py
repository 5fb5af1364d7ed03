"""The embedded inspecting proxy: CA store, certificate forging, policy, parsing, relay, events.

``server.py`` moves bytes and emits events; parsing (``parse.py``), policy (``policy.py``) and
certificate minting (``forge.py``) are plain functions and classes without sockets.
"""
