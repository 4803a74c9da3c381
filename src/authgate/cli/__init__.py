"""The ``authgate`` command line."""

from authgate.cli.app import app, main
from authgate.cli.pki import certs_app, public_keys_app

app.add_typer(certs_app, name="certs")
app.add_typer(public_keys_app, name="public-keys")

__all__ = ["app", "main"]
