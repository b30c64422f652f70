"""Test helpers shared by every service's tests (a pytest plugin, paths, clients)."""
