"""The two embedding patterns of docs/embedding.md, taken from the page and run under
Starlette's TestClient (which drives the ASGI lifespan)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from authgate import Runtime
from authgate.audit import BatchedAuditSink

DOC = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"


def _block(containing: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    found = [b for b in blocks if containing in b]
    assert len(found) == 1, containing
    return found[0]


def _app(containing: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "embedding_doc"}
    exec(compile(_block(containing), str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["app"]


def test_runtime_middleware_snippet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHGATE_HOME", str(tmp_path / "home"))
    app = _app("app.add_middleware(RuntimeMiddleware, settings=Settings())")

    @app.get("/me")
    async def me() -> str:
        return "ok"

    with TestClient(app) as client:
        assert client.get("/me").status_code == 200
        r = client.get("/me", headers={"X-API-Key": "agk_wrong"})
        assert r.status_code == 401
        assert r.json()["error"] == "invalid_token"


def test_lifespan_snippet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHGATE_HOME", str(tmp_path / "home"))
    app = _app("async def lifespan(app: FastAPI)")
    with TestClient(app):
        runtime = app.state.authgate
        assert isinstance(runtime, Runtime)
        assert isinstance(runtime.audit, BatchedAuditSink)
        assert {t.get_name() for t in runtime._tasks} >= {"authgate-last-used"}
    assert runtime._tasks == []  # closed with the app
