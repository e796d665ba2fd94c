"""Real servers for the test suite: a throwaway PostgreSQL cluster and an in-memory TimescaleDB."""
