"""The isolation layer that runs untrusted tools (being written)."""
