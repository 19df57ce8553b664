"""Fast tests: no server, no subprocess."""
