"""Helpers shared by test modules (imported as ``helpers.*``: pytest puts ``tests/`` on
``sys.path`` for ``tests/conftest.py``, and mypy finds them through ``mypy_path``)."""
