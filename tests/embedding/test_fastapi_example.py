"""docs/examples/fastapi_app.py works as documented: in-process and under a real uvicorn."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx2
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "fastapi_app.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("authgate_example_fastapi_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example()


@pytest.fixture
async def client(example: ModuleType) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=example.app, client=("198.51.100.4", 40000))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def reader(example: ModuleType) -> dict[str, str]:
    return {"X-API-Key": example.READER_KEY}


async def test_no_credentials_is_401_with_challenges(client: httpx2.AsyncClient) -> None:
    for method, path in (("GET", "/reports"), ("POST", "/reports"), ("GET", "/whoami")):
        r = await client.request(method, path)
        assert r.status_code == 401, path
        assert r.json() == {
            "error": "unauthorized",
            "error_description": "Authentication is required.",
        }
        challenge = r.headers["www-authenticate"]
        assert 'ApiKey realm="authgate", header="X-API-Key"' in challenge
        assert 'Basic realm="authgate", charset="UTF-8"' in challenge


async def test_right_scope_is_200(client: httpx2.AsyncClient, example: ModuleType) -> None:
    r = await client.get("/reports", headers=reader(example))
    assert r.status_code == 200
    assert r.json() == ["q1", "q2"]
    r = await client.post("/reports", headers={"X-API-Key": example.WRITER_KEY})
    assert r.status_code == 201
    assert r.json() == {"created_by": "etl-job"}
    # the same key in the other accepted places
    for header in (f"ApiKey {example.READER_KEY}", f"Bearer {example.READER_KEY}"):
        assert (await client.get("/reports", headers={"Authorization": header})).status_code == 200


async def test_missing_scope_is_403(client: httpx2.AsyncClient, example: ModuleType) -> None:
    r = await client.post("/reports", headers=reader(example))
    assert r.status_code == 403
    assert r.json() == {
        "error": "insufficient_scope",
        "error_description": "The credentials lack a required scope.",
    }


async def test_any_of_several_scopes(client: httpx2.AsyncClient, example: ModuleType) -> None:
    assert (await client.get("/search", headers=reader(example))).status_code == 200
    admin = (example.ADMIN_USER, example.ADMIN_PASSWORD)
    assert (await client.get("/search", auth=admin)).status_code == 200  # holds "search"


async def test_roles_and_schemes(client: httpx2.AsyncClient, example: ModuleType) -> None:
    admin = (example.ADMIN_USER, example.ADMIN_PASSWORD)
    assert (await client.get("/admin/stats", auth=admin)).json() == {"reports": 2}
    assert (await client.get("/admin/stats", headers=reader(example))).status_code == 403
    assert (await client.get("/machine", headers=reader(example))).text == '"reporting-bot"'
    r = await client.get("/machine", auth=admin)
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"
    wrong = await client.get("/admin/stats", auth=(example.ADMIN_USER, "wrong-password"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_token"


async def test_anonymous_route(client: httpx2.AsyncClient, example: ModuleType) -> None:
    r = await client.get("/hello")
    assert r.status_code == 200
    assert r.json() == "hello, anonymous"
    assert (await client.get("/hello", headers=reader(example))).json() == "hello, reporting-bot"
    # a present but invalid credential never degrades to anonymous
    for headers in (
        {"X-API-Key": "not-a-key"},
        {"Authorization": "ApiKey not-a-key"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Negotiate abc"},
    ):
        bad = await client.get("/hello", headers=headers)
        assert bad.status_code == 401, headers
        assert bad.json()["error"] == "invalid_token"
        assert "www-authenticate" in bad.headers


async def test_openapi_lists_schemes_and_per_route_scopes(client: httpx2.AsyncClient) -> None:
    r = await client.get("/openapi.json")  # public: no require on FastAPI's own routes
    assert r.status_code == 200
    doc = r.json()
    assert doc["components"]["securitySchemes"] == {
        "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "Basic": {"type": "http", "scheme": "basic"},
        "Bearer": {"type": "http", "scheme": "bearer"},
    }
    paths = doc["paths"]
    assert paths["/reports"]["get"]["security"] == [
        {"ApiKeyHeader": ["reports:read"]},
        {"Basic": ["reports:read"]},
        {"Bearer": ["reports:read"]},
    ]
    assert paths["/reports"]["post"]["security"][0] == {"ApiKeyHeader": ["reports:write"]}
    assert paths["/search"]["get"]["security"][0] == {"ApiKeyHeader": ["reports:read", "search"]}
    assert paths["/admin/stats"]["get"]["security"][0] == {"ApiKeyHeader": []}
    assert paths["/machine"]["get"]["security"] == [{"ApiKeyHeader": []}]
    assert "parameters" not in paths["/reports"]["get"]


def test_create_app_takes_another_resolver(example: ModuleType) -> None:
    resolver = example.InMemoryResolver()
    app = example.create_app(resolver)
    assert app is not example.app


def test_embedding_doc_includes_the_example_verbatim() -> None:
    doc = (ROOT / "docs" / "embedding.md").read_text()
    assert f"```python\n{EXAMPLE.read_text()}```" in doc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_example_under_uvicorn(example: ModuleType) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(EXAMPLE.parent),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "fastapi_app:app",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx2.Client(base_url=base, timeout=5) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    hello = http.get("/hello")
                    break
                except httpx2.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        out = proc.stdout.read().decode() if proc.stdout else ""
                        pytest.fail(f"uvicorn did not start: {out}")
                    time.sleep(0.1)
            assert hello.status_code == 200
            assert hello.json() == "hello, anonymous"
            denied = http.get("/reports")
            assert denied.status_code == 401
            assert "ApiKey" in denied.headers["www-authenticate"]
            ok = http.get("/reports", headers={"X-API-Key": example.READER_KEY})
            assert ok.status_code == 200
            assert ok.json() == ["q1", "q2"]
            assert http.post("/reports", headers=reader(example)).status_code == 403
            assert http.get("/hello", headers={"X-API-Key": "nope"}).status_code == 401
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
