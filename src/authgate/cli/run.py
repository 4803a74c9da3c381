"""``authgate run COLLECTION.json [--environment ENV.json]``: a Postman collection's requests.

Each request is signed by the :mod:`authgate.client` class its (inherited) auth names
(:mod:`authgate.client.postman`). ``{{NAME}}`` comes from, lowest precedence first, the
collection's variables, the environment file, the process environment. One line per
request (outcome, status, method, name, time), then a summary; ``--json`` prints one
document for CI. The exit status is 1 when a request failed (a status of 400 or more, a
transport error, an unset variable), or when the collection cannot be read.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import httpx2
import typer

from authgate.cli.common import JsonOpt
from authgate.cli.output import console, emit, fail
from authgate.cli.request import redact
from authgate.client import TokenError
from authgate.client.postman import (
    SECRET_ATTRIBUTES,
    CollectionError,
    Step,
    auth_for,
    environment_values,
    load_collection,
    parse_json,
)
from authgate.client.variables import MissingVariable, substitute

__all__ = ["run_collection"]

#: Nested variables (``{{base}}`` = ``http://{{host}}``) are expanded this many levels.
_DEPTH = 5


def _read(path: Path, what: str) -> Any:
    try:
        return parse_json(path.read_text(encoding="utf-8"), f"{what} {path}")
    except OSError as exc:
        raise CollectionError(f"cannot read {path}: {exc.strerror}") from exc


def _expander(variables: dict[str, str]) -> Callable[[str], str]:
    def expand(text: str) -> str:
        for _ in range(_DEPTH):
            done = substitute(text, variables, where="in the collection, environment or process")
            if done == text:
                break
            text = done
        return text

    return expand


class _Runner:
    """Sends the steps through one client; equal auth settings share one signer (one token)."""

    def __init__(self, client: httpx2.Client, expand: Callable[[str], str]) -> None:
        self.client, self.expand = client, expand
        self._signers: dict[str, httpx2.Auth] = {}
        self.secrets: set[str] = set()

    def _signer(self, step: Step) -> httpx2.Auth:
        auth = step.auth or {}
        cache_key = json.dumps(auth, sort_keys=True, default=str)
        if cache_key not in self._signers:
            for name, value in auth.items():
                if name in SECRET_ATTRIBUTES and isinstance(value, str) and value:
                    self.secrets.add(self.expand(value))
            self._signers[cache_key] = auth_for(step.auth, self.expand)
        return self._signers[cache_key]

    def send(self, step: Step) -> dict[str, Any]:
        started = time.perf_counter()
        out: dict[str, Any] = {"name": step.name, "method": step.method, "status": None}
        try:
            request = self.client.build_request(
                step.method,
                self.expand(step.url),
                headers=[(n, self.expand(v)) for n, v in step.headers],
                content=None if step.body is None else self.expand(step.body).encode(),
            )
            response = self.client.send(request, auth=self._signer(step))
            out["status"] = response.status_code
            out["error"] = None if response.status_code < 400 else response.reason_phrase
        except (MissingVariable, ValueError, TokenError, httpx2.HTTPError) as exc:
            out["error"] = redact(str(exc) or type(exc).__name__, list(self.secrets))
        out["ok"] = out["error"] is None
        out["ms"] = round((time.perf_counter() - started) * 1000, 1)
        return out


def _line(result: dict[str, Any]) -> str:
    outcome = "PASS" if result["ok"] else "FAIL"
    status = result["status"] if result["status"] is not None else "---"
    tail = "" if result["ok"] else f"  ({result['error']})"
    return f"{outcome} {status} {result['method']:<7}{result['name']}  {result['ms']:.0f} ms{tail}"


def run_collection(
    collection: Annotated[
        Path, typer.Argument(metavar="COLLECTION.json", help="A Postman collection (v2.1).")
    ],
    environment: Annotated[
        Path | None,
        typer.Option("--environment", "-e", metavar="ENV.json", help="A Postman environment."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each answer.")] = 30.0,
    as_json: JsonOpt = False,
) -> None:
    """Run the requests of a Postman collection, each signed by its auth; exit 1 on a failure.

    Example: authgate run api.postman_collection.json --environment ci.postman_environment.json
    """
    try:
        steps, variables = load_collection(_read(collection, "collection"))
        if environment is not None:
            variables.update(environment_values(_read(environment, "environment")))
    except CollectionError as exc:
        fail(str(exc), as_json=as_json)
    variables.update(os.environ)
    started = time.perf_counter()
    results = []
    with httpx2.Client(timeout=timeout) as client:
        runner = _Runner(client, _expander(variables))
        for step in steps:
            results.append(runner.send(step))
            if not as_json:
                console.print(_line(results[-1]), markup=False)
    failed = sum(1 for r in results if not r["ok"])
    summary = {
        "total": len(results),
        "passed": len(results) - failed,
        "failed": failed,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    text = (
        f"{summary['total']} requests: {summary['passed']} passed, {failed} failed "
        f"in {summary['ms']:.0f} ms"
    )
    emit({"requests": results, **summary}, as_json=as_json, text=text)
    if failed:
        raise typer.Exit(1)
