"""Integration tests: real failover daemons in network namespaces (root).

The fixtures (`make_lab`, the namespace leak check) are in tests/conftest.py.
"""
