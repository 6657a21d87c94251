"""The native inference engine (being written)."""
