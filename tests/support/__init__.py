"""What the test packages and bench/ share: factory_boy factories (one per model), the harness
(worker processes, waiting, free ports, the fakes wired to a tenant) and service gating.

Plain modules, never collected (no `test_*.py` here) and never conftest files: conftest files
only define fixtures, built on these (tests/test_no_conftest_imports.py keeps it so).
"""
