"""The end of every ``--help``: an example and the environment variables."""

from __future__ import annotations

import typer

from authgate.cli.app import ENVIRONMENT

__all__ = ["EXAMPLES", "add_epilogs"]

EXAMPLES: dict[str, str] = {
    "init": "authgate --home /var/lib/authgate init",
    "serve": "authgate --home /var/lib/authgate serve --host 0.0.0.0 --port 8000",
    "db upgrade": "authgate --home /var/lib/authgate db upgrade",
    "users create": "authgate users create alice --scopes read,write",
    "users list": "authgate users list --wide",
    "users disable": "authgate users disable alice",
    "users enable": "authgate users enable alice",
    "users delete": "authgate users delete alice --yes",
    "users set-password": "printf '%s\\n' \"$PASSWORD\" | authgate users set-password alice "
    "--password-stdin",
    "keys create": "authgate keys create --user alice --scopes read --expires-in 90d",
    "keys temporary": "authgate keys temporary --user alice --duration 1h",
    "keys list": "authgate keys list --user alice --wide",
    "keys revoke": "authgate keys revoke agk_Ab12Cd34",
    "keys rotate": "authgate keys rotate 3f2a9c1e --grace 24h",
    "master-key rotate": "authgate master-key rotate",
    "policy check": "authgate policy check policy.toml",
    "policy test": "authgate policy test policy.toml cases.toml",
    "audit list": "authgate audit list --event 'key.*' --since 24h",
    "audit tail": "authgate audit tail --user alice --json",
    "certs add": "authgate certs add --user alice --name ci client.pem",
    "certs list": "authgate certs list --user alice",
    "certs revoke": "authgate certs revoke 5b0c7d2e",
    "public-keys add": "authgate public-keys add --user alice --algorithm ed25519 "
    "--key-id alice-1 alice.pub",
    "public-keys list": "authgate public-keys list --user alice",
    "public-keys revoke": "authgate public-keys revoke 5b0c7d2e",
    "clients create": "authgate clients create svc --grant client_credentials --scopes read",
    "clients list": "authgate clients list --wide",
    "clients rotate-secret": "authgate clients rotate-secret agc_7fQ2",
    "clients delete": "authgate clients delete agc_7fQ2",
    "signing-keys list": "authgate signing-keys list",
    "signing-keys rotate": "authgate signing-keys rotate --algorithm EdDSA",
}


def _epilog(path: str) -> str:
    example = EXAMPLES.get(path, f"authgate {path} --help")
    return f"Example: {example}\n\n{ENVIRONMENT}"


def add_epilogs(app: typer.Typer, prefix: str = "") -> None:
    """Give every command of ``app`` (recursively) an example and the environment."""
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        path = f"{prefix}{name}".strip()
        if not command.epilog:
            command.epilog = _epilog(path)
    for group in app.registered_groups:
        if group.typer_instance is None:
            continue
        group_name = group.name or group.typer_instance.info.name or ""
        sub = group.typer_instance
        if not sub.info.epilog:
            first = next((k for k in EXAMPLES if k.startswith(f"{prefix}{group_name} ")), "")
            sub.info.epilog = _epilog(first or f"{prefix}{group_name}".strip())
        add_epilogs(sub, f"{prefix}{group_name} ")
