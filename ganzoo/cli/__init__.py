"""The ``ganzoo`` command line."""

from .group import cli, main

__all__ = ["cli", "main"]
