"""Tool library commands (filled in below)."""


def register(cli):
    pass
