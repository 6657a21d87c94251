"""Built-in recipe catalog (being written)."""
