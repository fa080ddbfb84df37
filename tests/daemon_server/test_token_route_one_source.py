"""``/v1/token`` has one implementation, and what it serves is what the OpenAPI document says.

The lean ASGI route (``token_route.TokenFastPath``) answers; the FastAPI app only documents the
two operations, from the same table (``TOKEN_OPERATIONS``) and the same contract models. Checked on
the real daemon over its socket against the emulator: every answer of both token routes (200 for a
signed-in account, 401, 400, 413) validates against the schema the document gives for that status,
and the FastAPI endpoint behind the documentation has no behaviour that could drift.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from cway_authd.control import token_route
from cway_contract.contract import BearerResponse, Route, TokenRequest
from cway_emulator.server import EmulatorServer
from tests.helpers.daemon import RunningDaemon

from .conftest import browser_sign_in

USER = "alice@contoso.example"


def _client(path: Path) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), base_url="http://cway-authd", timeout=30)


def _validator(document: dict[str, Any], *path: str) -> Draft202012Validator:
    """Validate against the document's schema at ``path``, its ``#/components`` references resolved in it."""
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:openapi", resource)
    pointer = "/".join(part.replace("~", "~0").replace("/", "~1") for part in path)
    return Draft202012Validator({"$ref": f"urn:openapi#/{pointer}"}, registry=registry)


def test_every_token_answer_matches_the_documented_schema_for_its_status(
    emu_daemon: RunningDaemon, emu: EmulatorServer
) -> None:
    assert browser_sign_in(emu_daemon, emu, USER).status.state == "completed"
    with _client(emu_daemon.socket_path) as client:
        document = client.get(Route.OPENAPI).json()
        token_paths = {p for p, ops in document["paths"].items() if p.startswith("/v1/token") and "post" in ops}
        assert token_paths == {op.path for op in token_route.TOKEN_OPERATIONS}
        for operation in token_route.TOKEN_OPERATIONS:
            documented = document["paths"][operation.path]["post"]
            assert documented["summary"] == operation.summary
            where = ("paths", operation.path, "post")
            request_ok = _validator(document, *where, "requestBody", "content", "application/json", "schema")
            answers = []
            for request in ({"username": USER}, {}, {"username": "nobody@contoso.example"}, {"username": 42}):
                assert request_ok.is_valid(request) == (request != {"username": 42}), request
                answers.append(client.post(operation.path, json=request))
            answers.append(client.post(operation.path, content=b"{" * 70_000))
            statuses = [a.status_code for a in answers]
            assert statuses == [200, 200, 401, 400, 413], (operation.path, statuses)
            for answer in answers:
                responses = documented["responses"]
                assert str(answer.status_code) in responses, (operation.path, answer.status_code)
                status = str(answer.status_code)
                schema = _validator(document, *where, "responses", status, "content", "application/json", "schema")
                errors = [e.message for e in schema.iter_errors(answer.json())]
                assert not errors, (operation.path, answer.status_code, errors)


def test_the_fastapi_side_only_documents_the_token_routes() -> None:
    """What the FastAPI app declares for the token routes has no behaviour of its own to drift."""
    router = APIRouter()
    token_route.document_token_routes(router)
    routes = [route for route in router.routes if isinstance(route, APIRoute)]
    assert [(r.path, r.name, r.methods) for r in routes] == [
        (op.path, op.name, {"POST"}) for op in token_route.TOKEN_OPERATIONS
    ]
    for route in routes:
        assert route.response_model is BearerResponse
        with pytest.raises(RuntimeError, match="TokenFastPath must answer"):
            asyncio.run(route.endpoint(body=TokenRequest(username=USER)))
