"""Built-in python tool language (being written)."""
