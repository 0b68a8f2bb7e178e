"""What the tests share and the package does not ship: fixtures (registered as plugins in tests/conftest.py),
processes started and stopped by their pids, waits, databases, and the data a test builds a system from."""
