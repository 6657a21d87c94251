"""The forge: description → recipes → prompt → generation → checks → repair → smoke run → save.

Every stage yields a typed event (`events.py`); the CLI renders them as text or JSON
lines, and the HTTP API streams the same events.
"""
