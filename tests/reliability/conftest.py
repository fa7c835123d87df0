"""The reliability tests' fixtures (`stack`, `fakes`, `rel_services`) are in tests/conftest.py,
shared with the security tests; the harness itself is tests/support/stack.py."""
