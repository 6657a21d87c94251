"""Built-in native engine backend (being written)."""
