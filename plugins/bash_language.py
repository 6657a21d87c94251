"""Built-in bash tool language (being written)."""
