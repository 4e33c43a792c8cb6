"""Helpers shared by the tests, with public names (fixtures stay in tests/conftest.py)."""
