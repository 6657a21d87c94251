"""The local HTTP API (being written)."""
