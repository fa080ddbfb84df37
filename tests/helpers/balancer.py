"""A round-robin HTTP forwarder on loopback: a stand-in for the load balancer in front of replicas.

Used by ``make demo-remote`` (two replicas behind one public URL) and by the conformance run (one
backend, and a fixed bearer added because the suite speaks no OAuth). A backend that refuses the
connection is skipped for that request (as a load balancer's health check would). Responses are
buffered: the remote server answers plain JSON, not streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

HOP_HEADERS = {"content-length", "connection", "transfer-encoding", "keep-alive"}


class Balancer:
    """With ``ready_path`` (e.g. ``/readyz``) it also acts as Kubernetes' endpoints controller does: a
    background probe every ``probe_interval`` seconds, and a backend whose probe failed gets no new
    requests until its probe passes again (a draining replica answers 503 there)."""

    def __init__(
        self,
        backends: list[str],
        *,
        bearer: str | None = None,
        ready_path: str | None = None,
        probe_interval: float = 0.2,
    ) -> None:
        self.backends = backends
        self.bearer = bearer
        self.served: Counter[str] = Counter()
        self.ready_path = ready_path
        self.probe_interval = probe_interval
        self.unready: set[str] = set()
        self._next = itertools.cycle(range(len(backends)))
        self._client = httpx.AsyncClient(timeout=60)
        self.app = Starlette(
            routes=[Route("/{path:path}", self.forward, methods=["GET", "POST", "DELETE", "OPTIONS"])],
            lifespan=self._lifespan if ready_path else None,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(self._probe_forever())
        try:
            yield
        finally:
            task.cancel()

    async def _probe_forever(self) -> None:
        async with httpx.AsyncClient(timeout=1.0) as probe:
            while True:
                for backend in self.backends:
                    try:
                        ok = (await probe.get(backend + str(self.ready_path))).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    (self.unready.discard if ok else self.unready.add)(backend)
                await asyncio.sleep(self.probe_interval)

    async def forward(self, request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        if self.bearer is not None:
            headers["authorization"] = f"Bearer {self.bearer}"
        body = await request.body()
        start = next(self._next)
        for offset in range(len(self.backends)):
            backend = self.backends[(start + offset) % len(self.backends)]
            if backend in self.unready and len(self.unready) < len(self.backends):
                continue  # taken out by its readiness probe (while another one is in)
            try:
                upstream = await self._client.request(
                    request.method,
                    backend + request.url.path,
                    params=request.query_params,
                    headers=headers,
                    content=body,
                )
            except httpx.ConnectError:
                continue  # that replica is down: the next one takes the request
            except httpx.HTTPError as exc:
                return Response(f"forwarding failed: {type(exc).__name__}", status_code=502)
            self.served[backend] += 1
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS | {"content-encoding"}}
            return Response(upstream.content, status_code=upstream.status_code, headers=out)
        return Response("no replica answered", status_code=503)


@contextlib.contextmanager
def serving(
    app: ASGIApp, port: int, *, cert: Path | None = None, key: Path | None = None, lifespan: bool = False
) -> Iterator[None]:
    """Run ``app`` with uvicorn on 127.0.0.1:``port`` in a thread until the block ends (https with ``cert``)."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on" if lifespan else "off",
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the balancer could not start on port {port}")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)
