"""A FastAPI app on authgate's own store: users, keys, audit log, revocation, caching.

``RuntimeMiddleware`` opens authgate's :class:`~authgate.Runtime` when uvicorn starts the
app (its audit writer and ``last_used_at`` flusher run from then on), authenticates every
request with the schemes enabled in the settings, and closes the runtime after the app's
own shutdown, writing what is still queued. Run it on the data directory of
``authgate init`` (``$AUTHGATE_HOME``, default ``./.authgate``)::

    uvicorn --app-dir docs/examples --port 8080 runtime_app:app
    # or: python docs/examples/runtime_app.py

    KEY=$(authgate keys create --user admin --name reports --scopes read --json | jq -r .key)
    curl -i -H "X-API-Key: $KEY" http://127.0.0.1:8080/reports          # 200
    curl -i -H "X-API-Key: $KEY" -X POST http://127.0.0.1:8080/reports  # 403: no "write"
    authgate keys list --json | jq '.keys[].last_used_at'   # written at shutdown at the latest

Port 8080: ``authgate serve`` itself listens on 8000.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Request, Security

from authgate import Identity, RuntimeMiddleware, Settings, get_runtime
from authgate.audit import AuditRecord
from authgate.embedding.fastapi import Authenticated, install_error_handler, require


def create_app(settings: Settings | None = None) -> FastAPI:
    """The example API over authgate's store (settings from the environment by default)."""
    app = FastAPI(title="Reports API", summary="An app on authgate's store")
    # opens the Runtime at startup, authenticates every request, closes it at shutdown
    app.add_middleware(RuntimeMiddleware, settings=settings)
    install_error_handler(app)

    @app.get("/whoami")
    async def whoami(caller: Authenticated) -> dict[str, Any]:
        return caller.as_json()

    @app.get("/reports")
    async def list_reports(
        caller: Annotated[Identity, Security(require(scopes=["read"]))],
    ) -> list[str]:
        return ["q1", "q2"]

    @app.post("/reports", status_code=201)
    async def create_report(
        request: Request,
        caller: Annotated[Identity, Security(require(scopes=["write"]))],
    ) -> dict[str, str]:
        # the app's own events go to authgate's audit log (GET /v1/audit, authgate serve)
        runtime = get_runtime(request.scope)
        await runtime.audit.emit(
            AuditRecord(
                "report.created",
                actor_id=caller.principal_id,
                actor=caller.subject,
                credential_id=caller.credential_id,
                scheme=caller.scheme,
                detail={"report": "q3"},
            )
        )
        return {"created_by": caller.subject}

    return app


app = create_app()

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8080)
