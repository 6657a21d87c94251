"""The inference interface every backend implements (native, exllamav2, remote).

Torch-free: the forge, the HTTP API and the tools layer import these types without
loading any engine. ``protocol.Engine`` is the interface; ``backends`` is the table
of engine plugins that create one.
"""
