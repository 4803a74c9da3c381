"""The ``authgate`` command line."""

from authgate.cli.app import app, main
from authgate.cli.clients import clients_app
from authgate.cli.pki import certs_app, public_keys_app
from authgate.cli.signing import signing_keys_app

app.add_typer(certs_app, name="certs")
app.add_typer(public_keys_app, name="public-keys")
app.add_typer(clients_app, name="clients")
app.add_typer(signing_keys_app, name="signing-keys")

__all__ = ["app", "main"]
