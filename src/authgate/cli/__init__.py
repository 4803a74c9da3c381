"""The ``authgate`` command line."""

from authgate.cli.app import app, main
from authgate.cli.audit import audit_app
from authgate.cli.clients import clients_app
from authgate.cli.help import add_epilogs
from authgate.cli.keys import keys_app
from authgate.cli.pki import certs_app, public_keys_app
from authgate.cli.policy import policy_app
from authgate.cli.profiles import profiles_app
from authgate.cli.request import request
from authgate.cli.run import run_collection
from authgate.cli.setup import db_app, init, master_app, serve
from authgate.cli.signing import signing_keys_app
from authgate.cli.users import users_app

app.command("init")(init)
app.command("serve")(serve)
app.command("request")(request)
app.command("run")(run_collection)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(master_app, name="master-key")
app.add_typer(policy_app, name="policy")
app.add_typer(audit_app, name="audit")
app.add_typer(certs_app, name="certs")
app.add_typer(public_keys_app, name="public-keys")
app.add_typer(clients_app, name="clients")
app.add_typer(signing_keys_app, name="signing-keys")
app.add_typer(profiles_app, name="profiles")
add_epilogs(app)

__all__ = ["app", "main"]
