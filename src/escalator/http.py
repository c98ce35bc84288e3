"""The HTTP surface: health, readiness, Prometheus metrics and signed webhooks."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.errors import WebhookRejected

if TYPE_CHECKING:
    from escalator.runner import Runner


def create_app(runner: Runner) -> Starlette:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks = runner.readiness()
        ready = all(c["ok"] for c in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        return Response(
            runner.sidecar.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    async def webhook(request: Request) -> Response:
        name = request.path_params["source"]
        sidecar = runner.sidecar
        source = sidecar.sources.get(name)
        counter = sidecar.metrics.webhooks
        if source is None:
            counter.labels(name, "unknown_source").inc()
            return JSONResponse({"error": f"no source named {name!r}"}, status_code=404)
        limit = sidecar.config.model.service.max_webhook_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            counter.labels(name, "too_large").inc()
            return JSONResponse({"error": "body too large"}, status_code=413)
        body = await _read_limited(request, limit)
        if body is None:
            counter.labels(name, "too_large").inc()
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            event = source.connector.verify_webhook(
                dict(request.headers), body, now=sidecar.clock()
            )
        except WebhookRejected as exc:
            counter.labels(name, f"rejected_{exc.status}").inc()
            sidecar.log.warning(
                "webhook.rejected", source=name, status=exc.status, reason=exc.reason
            )
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        counter.labels(name, "accepted").inc()
        runner.on_webhook(name, event.ticket_ids)
        return JSONResponse({"accepted": list(event.ticket_ids)}, status_code=202)

    from escalator.board import board_routes

    return Starlette(
        routes=[
            *board_routes(runner, os.environ),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/webhooks/{source}", webhook, methods=["POST"]),
        ]
    )


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past ``limit`` (chunked bodies included)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
