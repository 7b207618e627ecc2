"""The reference server as a Starlette app: its routes, and the fault injection in front of
every protocol route (the routes and checks are described in :mod:`turborle.server`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from turborle.server import handlers
from turborle.server.answers import ApiError, json_response
from turborle.server.config import ROUTES, Family, ServerConfig
from turborle.server.inputs import asset_bytes
from turborle.server.state import ServerState


class _TruncatedResponse(Response):
    """Sends the first ``keep`` bytes of ``inner``'s body, then stops (see :class:`Fault`)."""

    def __init__(self, inner: Response, keep: int, full_length_header: bool) -> None:
        super().__init__(bytes(inner.body), inner.status_code)
        self.raw_headers = [(k, v) for k, v in inner.raw_headers if k != b"content-length"]
        self.keep = keep
        self.full_length_header = full_length_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytes(self.body)
        cut = body[:self.keep]
        declared = len(body) if self.full_length_header else len(cut)
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": [*self.raw_headers, (b"content-length", str(declared).encode())]})
        # A declared length longer than what is sent: leave the response unfinished, and the
        # server closes the connection mid-body.
        await send({"type": "http.response.body", "body": cut,
                    "more_body": len(cut) < declared})


Handler = Callable[[Request, "ServerState"], Awaitable[Response]]


def _endpoint(state: ServerState, route: str,
              handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    family = ROUTES[route]

    async def endpoint(request: Request) -> Response:
        fault = state.next_fault(route)
        if fault is not None and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault is not None and fault.status is not None:
            headers = dict(fault.headers)
            if fault.retry_after is not None or fault.status == 429:
                headers["Retry-After"] = fault.retry_after or "1"
            message = fault.message or f"injected fault: HTTP {fault.status}"
            response = ApiError(fault.status, message, error_type=fault.error_type,
                                headers=headers).response(family)
        else:
            try:
                response = await handler(request, state)
            except ApiError as exc:
                response = exc.response(family)
            if fault is not None:
                response.headers.update(fault.headers)
                if fault.retry_after is not None:
                    response.headers["Retry-After"] = fault.retry_after
        response.headers["x-turborle-segmenter"] = state.segmenter.name
        if fault is not None and fault.truncate_after is not None:
            return _TruncatedResponse(response, fault.truncate_after, fault.full_length_header)
        return response

    return endpoint


def create_app(config: ServerConfig | None = None) -> Starlette:
    """The reference server as a Starlette app (routes in the module doc).

    The app's :class:`ServerState` is ``server_state(app)``.
    """
    config = config or ServerConfig()
    state = ServerState(config)
    app_path = "/" + config.fal_app.strip("/")
    queue = "/queue" + app_path

    async def index(request: Request) -> Response:
        return json_response({
                    "server": "turborle local reference server for SAM 3 image-rle protocols",
                    "segmenter": state.segmenter.name,
                    "model": config.model,
                    "endpoints": {
                        "gateway": "/v1/images/generations",
                        "gateway_jobs": "/v1/jobs/{id}",
                        "fal_sync": f"{app_path}/image-rle",
                        "fal_queue_submit": f"{queue}/image-rle",
                        "fal_queue_request": f"{queue}/requests/{{id}}",
                        "demo_image": "/assets/demo.png",
                    },
                }, headers={"x-turborle-segmenter": state.segmenter.name})

    async def asset(request: Request) -> Response:
        data = asset_bytes(request.path_params["name"])
        if data is None:
            return json_response({"detail": "Not Found"}, 404)
        return Response(data, 200, media_type="image/png")

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        family: Family = "gateway" if request.url.path.startswith("/v1") else "fal"
        text = "Not Found" if status == 404 else "Method Not Allowed" if status == 405 \
            else "error"
        message = f"{text}: {request.method} {request.url.path}"
        headers = exc.headers if isinstance(exc, HTTPException) else None
        return ApiError(status, message, detail=text, headers=headers).response(family)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/assets/{name}", asset, methods=["GET"]),
        Route("/v1/images/generations",
              _endpoint(state, "gateway.generate", handlers.gateway_generate), methods=["POST"]),
        Route("/v1/jobs/{job_id}", _endpoint(state, "gateway.job", handlers.gateway_job),
              methods=["GET"]),
        Route("/v1/outputs/{output_id}",
              _endpoint(state, "gateway.output", handlers.gateway_output), methods=["GET"]),
        Route(f"{app_path}/image-rle", _endpoint(state, "fal.run", handlers.fal_run),
              methods=["POST"]),
        Route(f"{queue}/image-rle", _endpoint(state, "fal.submit", handlers.fal_submit),
              methods=["POST"]),
        Route(f"{queue}/requests/{{request_id}}/status",
              _endpoint(state, "fal.status", handlers.fal_status), methods=["GET"]),
        Route(f"{queue}/requests/{{request_id}}/cancel",
              _endpoint(state, "fal.cancel", handlers.fal_cancel), methods=["PUT"]),
        Route(f"{queue}/requests/{{request_id}}",
              _endpoint(state, "fal.result", handlers.fal_result),
              methods=["GET"]),
        Route(f"{queue}/image-rle/requests/{{rest:path}}", handlers.fal_wrong_root,
              methods=["GET", "PUT", "POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: http_error, 405: http_error})
    app.state.turborle = state
    return app
