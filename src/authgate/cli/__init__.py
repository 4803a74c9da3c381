"""The ``authgate`` command line."""

from authgate.cli.app import app, main

__all__ = ["app", "main"]
