"""Built-in plugins. Each module here is registered exactly like a third-party plugin."""
