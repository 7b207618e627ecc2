"""The gateway fetcher (turborle.gateway) over real loopback HTTP.

Most tests talk to the local reference server (turborle.server) and use its fault
injection for error statuses, delays and cut bodies. Answers the reference server never
gives (malformed RLE, COCO and PNG payloads, an unbounded chunked body, a server that echoes
the key, URLs on another origin) come from ``CannedServer``, a stdlib HTTP server on
127.0.0.1 that replays scripted answers and records what it was sent.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import random
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

pytest.importorskip("httpx")
pytest.importorskip("PIL")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

import httpx  # noqa: E402
from PIL import Image  # noqa: E402

import turborle  # noqa: E402
from turborle.gateway import (  # noqa: E402
    AsyncGateway,
    AuthenticationError,
    BadRequestError,
    DeadlineExceededError,
    Gateway,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    InsufficientCreditsError,
    InvalidResponseError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    Segmentation,
    ServerError,
    UserTimeoutError,
)
from turborle.gateway.answers import Response  # noqa: E402
from turborle.gateway.images import prepare_image  # noqa: E402
from turborle.gateway.steps import Call, Request, Send, Sleep  # noqa: E402
from turborle.server import (  # noqa: E402
    Fault,
    RunningServer,
    ServerConfig,
    asset_bytes,
    start_server_thread,
)
from turborle.server.segment import BoxPrompt, ClassicalSegmenter, PointPrompt  # noqa: E402

KEY = "sk-SENTINEL-7f3c9e1d-do-not-print"
FAST = dict(poll_interval=0.01, backoff_base=0.01, backoff_max=0.05, max_retry_after=1.0,
            seed=1234)


# -- the image and what the server's segmenter makes of it ---------------------------------------

def _image() -> np.ndarray:
    """A 60x80 RGB picture: grey background, a red block, a blue block, a small red dot."""
    img = np.full((60, 80, 3), 128, dtype=np.uint8)
    img[5:25, 10:40] = (220, 30, 30)
    img[30:55, 45:75] = (30, 30, 220)
    img[40:46, 5:12] = (230, 20, 20)
    return img


IMAGE = _image()


def expected(img: np.ndarray, prompt: str = "", points: list[tuple[float, float, int]] = (),
             boxes: list[tuple[float, float, float, float]] = (), max_masks: int = 1):
    """The masks and scores the reference server computes for these prompts."""
    segments = ClassicalSegmenter().segment(
        img, prompt, [PointPrompt(*p) for p in points], [BoxPrompt(*b) for b in boxes],
        max_masks)[:max_masks]
    segments = [s for s in segments if s.mask.any()]
    masks = np.stack([s.mask for s in segments]) if segments else np.zeros((0,) + img.shape[:2],
                                                                           dtype=bool)
    return masks, np.array([s.score for s in segments])


def check_masks(seg: Segmentation, img: np.ndarray, **prompts: Any) -> None:
    masks, scores = expected(img, **prompts)
    dense = seg.decode()
    assert dense.dtype == np.bool_ and dense.shape == masks.shape
    assert np.array_equal(dense, masks)  # bit for bit
    assert seg.masks == turborle.encode(masks) if len(masks) else len(seg.masks) == 0
    assert (seg.height, seg.width) == img.shape[:2]
    assert seg.scores is not None and np.allclose(seg.scores, scores)
    if len(masks):  # fal's normalized [cx, cy, w, h], rounded to 6 digits, back to pixels
        tight = turborle.bbox(turborle.encode(masks), fmt="xyxy")
        assert np.allclose(seg.boxes, tight, atol=1e-3)


# -- servers ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shared() -> Iterator[RunningServer]:
    with start_server_thread(ServerConfig(api_key=KEY)) as srv:
        yield srv


@pytest.fixture
def server(shared: RunningServer) -> Iterator[RunningServer]:
    """The shared server, with faults a failed test left behind drained afterwards."""
    yield shared
    for route in ("gateway.generate", "gateway.job", "gateway.output", "fal.run", "fal.submit",
                  "fal.status", "fal.result", "fal.cancel"):
        while shared.state.next_fault(route) is not None:
            pass


@pytest.fixture
def make_server() -> Iterator[Callable[..., RunningServer]]:
    started: list[RunningServer] = []

    def make(**config: Any) -> RunningServer:
        srv = start_server_thread(ServerConfig(api_key=KEY, **config))
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


def gateway(srv: RunningServer, provider: str = "fal", **options: Any) -> Gateway:
    if provider == "fal_queue":
        provider = "fal"
        options.setdefault("queue", True)
        options.setdefault("queue_base_url", srv.base_url + "/queue")
    opts = {**FAST, **options}
    return Gateway(provider, api_key=opts.pop("api_key", KEY), base_url=srv.base_url,  # type: ignore[arg-type]
                   **opts)


def async_gateway(srv: RunningServer, provider: str = "fal", **options: Any) -> AsyncGateway:
    if provider == "fal_queue":
        provider = "fal"
        options.setdefault("queue", True)
        options.setdefault("queue_base_url", srv.base_url + "/queue")
    return AsyncGateway(provider, api_key=KEY, base_url=srv.base_url,  # type: ignore[arg-type]
                        **{**FAST, **options})


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = Any  # (status, headers, body) | callable(Recorded) -> that | Stream


@dataclass
class Stream:
    """A chunked body of ``total`` bytes without Content-Length; ``sent`` counts what went out."""

    total: int
    chunk: int = 1 << 16
    sent: int = 0


@dataclass
class CannedServer:
    answers: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    base_url: str = ""

    def add(self, method: str, path: str, *answers: Answer) -> None:
        self.answers.setdefault((method, path), []).extend(answers)


def _json_answer(obj: Any, status: int = 200, headers: dict[str, str] | None = None):
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(obj).encode()


@pytest.fixture
def canned() -> Iterator[CannedServer]:
    state = CannedServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            rec = Recorded(self.command, self.path, dict(self.headers.items()),
                           self.rfile.read(length))
            state.requests.append(rec)
            queue = state.answers.get((self.command, self.path))
            answer = queue.pop(0) if queue else _json_answer({"detail": "Not Found"}, 404)
            if callable(answer):
                answer = answer(rec)
            if isinstance(answer, Stream):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                piece = b" " * answer.chunk
                try:
                    while answer.sent < answer.total:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        answer.sent += len(piece)
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    self.close_connection = True
                return
            status, headers, body = answer
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _handle

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def fal_text(masks: np.ndarray) -> list[str]:
    return turborle.encode(masks).to_fal()


# -- success through every route ----------------------------------------------------------------

ROUTES = [
    ("aigateway", {}),
    ("aigateway", {"response_format": "url"}),
    ("fal", {}),
    ("fal_queue", {}),
]


@pytest.mark.parametrize(("provider", "options"), ROUTES,
                         ids=["aigateway-b64", "aigateway-url", "fal-sync", "fal-queue"])
def test_whole_chain_is_bit_exact(server: RunningServer, provider: str,
                                  options: dict[str, Any]) -> None:
    with gateway(server, provider, **options) as gw:
        seg = gw.segment(IMAGE, "red", max_masks=5)
    check_masks(seg, IMAGE, prompt="red", max_masks=5)
    assert len(seg) == 2 and seg.dialect == "fal"
    assert isinstance(seg.raw, dict)
    if provider != "aigateway":
        assert seg.request_id


def test_aigateway_async_job(make_server: Callable[..., RunningServer]) -> None:
    srv = make_server(gateway_async=True, queue_s=0.03, run_s=0.03)
    with gateway(srv, "aigateway") as gw:
        seg = gw.segment(IMAGE, "blue", max_masks=3)
    check_masks(seg, IMAGE, prompt="blue", max_masks=3)
    assert seg.raw["status"] == "succeeded" and seg.request_id == seg.raw["id"]
    assert srv.state.hits["gateway.job"] >= 2  # polled through queued / in_progress


def test_fal_queue_polls_until_completed(make_server: Callable[..., RunningServer]) -> None:
    srv = make_server(queue_s=0.03, run_s=0.03)
    with gateway(srv, "fal_queue") as gw:
        seg = gw.segment(IMAGE, "red", max_masks=5)
    check_masks(seg, IMAGE, prompt="red", max_masks=5)
    assert srv.state.hits["fal.status"] >= 2 and srv.state.hits["fal.result"] == 1


@pytest.mark.parametrize(("provider", "options"), ROUTES,
                         ids=["aigateway-b64", "aigateway-url", "fal-sync", "fal-queue"])
def test_async_gateway(server: RunningServer, provider: str, options: dict[str, Any]) -> None:
    async def main() -> Segmentation:
        async with async_gateway(server, provider, **options) as gw:
            return await gw.segment(IMAGE, "red", max_masks=5)

    check_masks(asyncio.run(main()), IMAGE, prompt="red", max_masks=5)


def test_async_gateway_job_and_errors(make_server: Callable[..., RunningServer]) -> None:
    srv = make_server(gateway_async=True)

    async def main() -> None:
        async with async_gateway(srv, "aigateway") as gw:
            check_masks(await gw.segment(IMAGE, "blue", max_masks=2), IMAGE, prompt="blue",
                        max_masks=2)
            empty = await gw.segment(np.full((20, 30, 3), 128, np.uint8), "red")
            assert len(empty) == 0 and empty.decode().shape == (0, 20, 30)
        srv.state.inject("gateway.generate", Fault(status=503), Fault(status=403))
        async with async_gateway(srv, "aigateway") as gw:
            with pytest.raises(PermissionDeniedError):
                await gw.segment(IMAGE, "red")
        srv.state.inject("gateway.generate", Fault(delay_s=0.5))
        async with async_gateway(srv, "aigateway", deadline=0.15) as gw:
            t0 = time.monotonic()
            with pytest.raises(DeadlineExceededError):
                await gw.segment(IMAGE, "red")
            assert time.monotonic() - t0 < 0.45

    asyncio.run(main())


# -- inputs -------------------------------------------------------------------------------------

def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def test_every_image_input_kind(server: RunningServer, tmp_path: Any) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(_png(IMAGE))
    rgba = np.dstack([IMAGE, np.full(IMAGE.shape[:2], 255, np.uint8)])
    inputs = [path, str(path), _png(IMAGE), Image.fromarray(IMAGE), IMAGE, rgba,
              "data:image/png;base64," + base64.b64encode(_png(IMAGE)).decode()]
    with gateway(server) as gw:
        for item in inputs:
            check_masks(gw.segment(item, "red", max_masks=5), IMAGE, prompt="red", max_masks=5)
        grey = IMAGE.mean(axis=2).astype(np.uint8)
        check_masks(gw.segment(grey, "dark", max_masks=5), np.dstack([grey] * 3), prompt="dark",
                    max_masks=5)


def test_url_image_is_passed_through(server: RunningServer) -> None:
    demo = np.asarray(Image.open(io.BytesIO(asset_bytes("demo.png") or b"")).convert("RGB"))
    url = server.base_url + "/assets/demo.png"
    with gateway(server, "aigateway") as gw:
        sized = gw.segment(url, "red", max_masks=4, size=demo.shape[:2])
        fetched = gw.segment(url, "red", max_masks=4)  # downloaded once to learn its size
    for seg in (sized, fetched):
        check_masks(seg, demo, prompt="red", max_masks=4)
    assert prepare_image(url).source == url


def _exif_jpeg(img: np.ndarray, orientation: int) -> bytes:
    pil = Image.fromarray(img)
    exif = pil.getexif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize("apply_exif", [False, True])
def test_exif_rotated_file_is_sent_upright(make_server: Callable[..., RunningServer],
                                           apply_exif: bool) -> None:
    data = _exif_jpeg(IMAGE, 6)  # stored 60x80, shown rotated by 90 degrees: 80x60
    prepared = prepare_image(data)
    assert (prepared.height, prepared.width) == (80, 60)
    assert prepared.source.startswith("data:image/png;base64,")
    upright = np.asarray(Image.open(io.BytesIO(base64.b64decode(prepared.source.split(",")[1]))))
    srv = make_server(apply_exif_orientation=apply_exif)
    with gateway(srv) as gw:
        seg = gw.segment(data, "red", max_masks=5)
    check_masks(seg, upright, prompt="red", max_masks=5)  # either server setting agrees


def test_points_and_boxes_send_an_explicit_empty_prompt(server: RunningServer) -> None:
    sent: list[dict[str, Any]] = []

    def record(request: httpx.Request) -> None:
        if request.method == "POST":
            sent.append(json.loads(request.read()))

    client = httpx.Client(event_hooks={"request": [record]})
    with gateway(server, "aigateway", http_client=client) as gw:
        seg = gw.segment(IMAGE, points=[(20, 10, 1), (12.0, 8, 0)],
                         boxes=[(44, 29, 76, 56)], max_masks=5)
    client.close()
    check_masks(seg, IMAGE, points=[(20, 10, 1), (12, 8, 0)], boxes=[(44, 29, 76, 56)],
                max_masks=5)
    body = sent[0]
    assert body["prompt"] == ""  # not left out: fal would segment "wheel"
    assert body["point_prompts"] == [{"x": 20, "y": 10, "label": 1}, {"x": 12, "y": 8, "label": 0}]
    assert body["box_prompts"] == [{"x_min": 44, "y_min": 29, "x_max": 76, "y_max": 56}]
    assert body["model"] == "meta/sam-3-image-rle" and body["n"] == 1
    assert body["size"] == "80x60" and body["response_format"] == "b64_json"
    assert body["image_url"].startswith("data:image/png;base64,")
    assert body["return_multiple_masks"] is True and body["max_masks"] == 5


@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, "prompt, points or boxes"),
    ({"prompt": ""}, "prompt, points or boxes"),
    ({"points": [(1, 2, 3)]}, "label"),
    ({"points": [(1, 2)]}, r"\(x, y, label\)"),
    ({"boxes": [(5, 5, 1, 1)]}, "x0 <= x1"),
    ({"prompt": "red", "max_masks": 0}, "max_masks"),
])
def test_bad_arguments(server: RunningServer, kwargs: dict[str, Any], match: str) -> None:
    before = server.state.hits["fal.run"]
    with gateway(server) as gw:
        with pytest.raises(ValueError, match=match):
            gw.segment(IMAGE, **kwargs)
    assert server.state.hits["fal.run"] == before  # refused before anything was sent


@pytest.mark.parametrize(("image", "error"), [
    (np.zeros((4, 4), np.float32), TypeError),
    (np.zeros((4, 4, 2), np.uint8), ValueError),
    (np.zeros((0, 4), np.uint8), ValueError),
    (b"not an image", ValueError),
    (12, TypeError),
])
def test_bad_images(image: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        prepare_image(image)


def test_constructor_checks_and_env_key(server: RunningServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="provider"):
        Gateway("openai")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        Gateway("fal", timeout=-1)
    monkeypatch.setenv("FAL_KEY", KEY)
    with Gateway("fal", base_url=server.base_url) as gw:  # the key comes from FAL_KEY
        assert len(gw.segment(IMAGE, "blue")) == 1
    monkeypatch.delenv("FAL_KEY")
    with Gateway("fal", base_url=server.base_url) as gw:
        with pytest.raises(AuthenticationError, match="FAL_KEY"):
            gw.segment(IMAGE, "blue")
    with Gateway("aigateway", api_key="x", base_url=server.base_url + "/v1/") as gw:
        assert gw.base_url == server.base_url  # the OpenAI SDK's base_url form


# -- errors -------------------------------------------------------------------------------------

ERRORS = [(401, AuthenticationError), (402, InsufficientCreditsError),
          (403, PermissionDeniedError), (404, NotFoundError)]


@pytest.mark.parametrize(("status", "error"), ERRORS)
@pytest.mark.parametrize(("provider", "route"), [("aigateway", "gateway.generate"),
                                                 ("fal", "fal.run"),
                                                 ("fal_queue", "fal.submit")])
def test_error_statuses_are_distinct_and_never_retried(
        server: RunningServer, status: int, error: type[GatewayError], provider: str,
        route: str) -> None:
    message = f"scripted {status} message"
    server.state.inject(route, Fault(status=status, message=message))
    before = server.state.hits[route]
    with gateway(server, provider, max_retries=5) as gw:
        with pytest.raises(error, match=message) as info:
            gw.segment(IMAGE, "red")
    assert info.value.status_code == status
    assert server.state.hits[route] - before == 1


def test_real_401_402_404(make_server: Callable[..., RunningServer]) -> None:
    srv = make_server(credits=1)
    with gateway(srv, "aigateway", api_key="wrong") as gw:
        with pytest.raises(AuthenticationError, match="invalid API key"):
            gw.segment(IMAGE, "red")
    with gateway(srv, "aigateway", model="meta/other") as gw:
        with pytest.raises(NotFoundError, match="not found"):
            gw.segment(IMAGE, "red")
    with gateway(srv, "fal") as gw:
        gw.segment(IMAGE, "red")
        with pytest.raises(InsufficientCreditsError, match="Insufficient credits"):
            gw.segment(IMAGE, "red")


def test_other_4xx_is_a_bad_request_with_the_server_message(server: RunningServer) -> None:
    with gateway(server) as gw:
        with pytest.raises(BadRequestError, match="outside the 80x60 image") as info:
            gw.segment(IMAGE, points=[(500, 5, 1)])
    assert info.value.status_code == 422
    with gateway(server, "aigateway") as gw:
        with pytest.raises(BadRequestError, match="max_masks") as info:
            gw.segment(IMAGE, "red", max_masks=99)
    assert info.value.status_code == 400


def _retry_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [float(m.group(1)) for r in caplog.records
            if (m := re.search(r"retry \d+ of \d+ in ([0-9.]+) s", r.getMessage()))]


def _retried_with_backoff(server: RunningServer, caplog: pytest.LogCaptureFixture, status: int,
                          provider: str, route: str, **options: Any) -> None:
    server.state.inject(route, Fault(status=status), Fault(status=status), Fault(status=status))
    before = server.state.hits[route]
    with caplog.at_level(logging.WARNING, "turborle.gateway"):
        with gateway(server, provider, max_retries=3, backoff_base=0.01, backoff_max=1.0,
                     **options) as gw:
            seg = gw.segment(IMAGE, "red", max_masks=5)
    check_masks(seg, IMAGE, prompt="red", max_masks=5)
    assert server.state.hits[route] - before == 4
    delays = _retry_delays(caplog)
    assert len(delays) == 3
    for attempt, delay in enumerate(delays):  # 0.01 * 2**attempt, jittered into [half, all]
        assert 0.005 * 2 ** attempt - 0.006 <= delay <= 0.01 * 2 ** attempt + 0.006


@pytest.mark.parametrize("status", [502, 503, 504])
@pytest.mark.parametrize(("provider", "route"), [("aigateway", "gateway.generate"),
                                                 ("fal", "fal.run")])
def test_5xx_retried_with_backoff(server: RunningServer, caplog: pytest.LogCaptureFixture,
                                  status: int, provider: str, route: str) -> None:
    # The POST is repeated: 503 says the request was refused before any work, and these 502
    # and 504 carry no x-fal-request-id (the gateway in front answered, not the application).
    _retried_with_backoff(server, caplog, status, provider, route)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize(("options", "route"), [({"response_format": "url"}, "gateway.output"),
                                                ({"queue": True}, "fal.status"),
                                                ({"queue": True}, "fal.result")])
def test_5xx_on_a_get_retried_with_backoff(server: RunningServer,
                                           caplog: pytest.LogCaptureFixture, status: int,
                                           options: dict[str, Any], route: str) -> None:
    provider = "aigateway" if route.startswith("gateway") else "fal"
    _retried_with_backoff(server, caplog, status, provider, route, **options)


@pytest.mark.parametrize(("fault", "why"), [
    (Fault(status=500), "may have run"),
    (Fault(status=502, headers={"x-fal-request-id": "r-1"}), "x-fal-request-id"),
    (Fault(status=504, headers={"x-fal-request-id": "r-2"}), "x-fal-request-id"),
])
@pytest.mark.parametrize(("provider", "route"), [("aigateway", "gateway.generate"),
                                                 ("fal", "fal.run"),
                                                 ("fal_queue", "fal.submit")])
def test_5xx_after_a_post_that_may_have_run_is_not_retried(
        server: RunningServer, fault: Fault, why: str, provider: str, route: str) -> None:
    server.state.inject(route, fault)
    before = server.state.hits[route]
    with gateway(server, provider, max_retries=3) as gw:
        with pytest.raises(ServerError, match=f"not retried: .*{why}") as info:
            gw.segment(IMAGE, "red")
    assert info.value.status_code == fault.status
    assert server.state.hits[route] - before == 1  # sent once: a repeat could run it twice


@pytest.mark.parametrize(("method", "status", "headers", "retried"), [
    ("POST", 408, {}, True),
    ("POST", 503, {}, True),
    ("POST", 503, {"x-fal-request-id": "r"}, True),
    ("POST", 502, {}, True),
    ("POST", 504, {}, True),
    ("POST", 500, {}, False),
    ("POST", 502, {"x-fal-request-id": "r"}, False),
    ("POST", 504, {"x-fal-request-id": "r"}, False),
    ("POST", 504, {"x-fal-request-timeout-type": "user"}, False),
    ("POST", 501, {}, False),
    ("GET", 500, {}, True),
    ("GET", 502, {"x-fal-request-id": "r"}, True),
    ("GET", 504, {"x-fal-request-id": "r"}, True),
    ("GET", 501, {}, False),
])
def test_retry_policy_in_the_sans_io_core(method: str, status: int, headers: dict[str, str],
                                          retried: bool) -> None:
    """The retry loop run by hand, without a server: one exchange, then a wait or an error."""
    settings = Gateway("fal", api_key=KEY, base_url="http://127.0.0.1:9", **FAST)._settings
    call = Call(settings, random.Random(0))
    steps = call.request(Request(method, "http://127.0.0.1:9/x", "test"))
    send = next(steps)
    assert isinstance(send, Send) and send.request.method == method
    assert send.headers["Authorization"] == f"Key {KEY}"
    reply = Response(status, httpx.Headers(headers), b'{"detail": "scripted"}', send.request.url)
    if retried:
        assert isinstance(steps.send(reply), Sleep)
        assert isinstance(steps.send(None), Send)  # the same request again
        ok = Response(200, httpx.Headers(), b"{}", send.request.url)
        with pytest.raises(StopIteration) as done:
            steps.send(ok)
        assert done.value.value is ok
    else:
        with pytest.raises(ServerError, match="scripted") as info:
            steps.send(reply)
        assert info.value.status_code == status


def test_5xx_exhausted(server: RunningServer) -> None:
    server.state.inject("fal.run", *[Fault(status=502, message="upstream down")] * 3)
    before = server.state.hits["fal.run"]
    with gateway(server, max_retries=2) as gw:
        with pytest.raises(ServerError, match="upstream down.*after 3 attempts") as info:
            gw.segment(IMAGE, "red")
    assert info.value.status_code == 502 and server.state.hits["fal.run"] - before == 3
    server.state.inject("fal.run", Fault(status=501))
    with gateway(server, max_retries=2) as gw:
        with pytest.raises(ServerError):  # 501: not a retryable status
            gw.segment(IMAGE, "red")


def test_504_user_timeout_not_retried(server: RunningServer) -> None:
    server.state.inject("fal.run", Fault(status=504, headers={
        "X-Fal-Request-Timeout-Type": "user"}))
    before = server.state.hits["fal.run"]
    with gateway(server, max_retries=3) as gw:
        with pytest.raises(UserTimeoutError):
            gw.segment(IMAGE, "red")
    assert server.state.hits["fal.run"] - before == 1


def test_429_waits_retry_after(server: RunningServer) -> None:
    server.state.inject("gateway.generate", Fault(status=429, retry_after="0.2"))
    before = server.state.hits["gateway.generate"]
    with gateway(server, "aigateway", backoff_base=0.0) as gw:
        t0 = time.monotonic()
        seg = gw.segment(IMAGE, "red", max_masks=5)
        assert time.monotonic() - t0 >= 0.2
    check_masks(seg, IMAGE, prompt="red", max_masks=5)
    assert server.state.hits["gateway.generate"] - before == 2


def test_429_retry_after_bounded(server: RunningServer) -> None:
    server.state.inject("fal.run", Fault(status=429, retry_after="120"))
    with gateway(server, max_retry_after=1.0) as gw:
        t0 = time.monotonic()
        with pytest.raises(RateLimitError, match="Retry-After 120") as info:
            gw.segment(IMAGE, "red")
        assert time.monotonic() - t0 < 1.0
    assert info.value.retry_after == 120 and info.value.status_code == 429
    server.state.inject("fal.run", *[Fault(status=429, retry_after="0")] * 3)
    with gateway(server, max_retries=2) as gw:
        with pytest.raises(RateLimitError, match="after 3 attempts"):
            gw.segment(IMAGE, "red")


def test_real_rate_limit(make_server: Callable[..., RunningServer]) -> None:
    srv = make_server(rate_limit=0)  # every work request: 429 with Retry-After >= 1 s
    with gateway(srv, "aigateway", max_retry_after=0.5) as gw:
        with pytest.raises(RateLimitError) as info:
            gw.segment(IMAGE, "red")
    assert info.value.retry_after is not None and info.value.retry_after >= 1


def test_retry_after_http_date(canned: CannedServer) -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 3600))
    canned.add("POST", "/fal-ai/sam-3/image-rle",
               _json_answer({"detail": "slow down"}, 429, {"Retry-After": when}))
    with Gateway("fal", api_key=KEY, base_url=canned.base_url, **FAST) as gw:
        with pytest.raises(RateLimitError) as info:
            gw.segment(IMAGE, "red")
    assert info.value.retry_after is not None and 3500 < info.value.retry_after <= 3600


# -- empty results ------------------------------------------------------------------------------

GREY = np.full((20, 30, 3), 128, np.uint8)  # nothing red: 422 "No masks generated"


@pytest.mark.parametrize("provider", ["aigateway", "fal", "fal_queue"])
def test_422_no_masks_is_empty(server: RunningServer, provider: str) -> None:
    with gateway(server, provider) as gw:
        seg = gw.segment(GREY, "red")
    assert len(seg) == 0 and seg.dialect == "none"
    assert seg.decode().shape == (0, 20, 30) and seg.boxes.shape == (0, 4)
    assert seg.scores is not None and seg.scores.shape == (0,)


def test_failed_job_with_no_masks_is_empty(make_server: Callable[..., RunningServer]) -> None:
    srv = make_server(gateway_async=True)
    with gateway(srv, "aigateway") as gw:
        seg = gw.segment(GREY, "red")
    assert len(seg) == 0 and seg.request_id == seg.raw["id"]


def test_failed_job_raises(canned: CannedServer) -> None:
    canned.add("POST", "/v1/images/generations",
               _json_answer({"id": "job-1", "object": "job", "status": "queued"}, 202))
    canned.add("GET", "/v1/jobs/job-1", _json_answer({"id": "job-1", "status": "in_progress"}),
               _json_answer({"id": "job-1", "status": "failed",
                             "error": {"message": "GPU fell over", "type": "server_error"}}))
    with Gateway("aigateway", api_key=KEY, base_url=canned.base_url, **FAST) as gw:
        with pytest.raises(JobFailedError, match="GPU fell over") as info:
            gw.segment(IMAGE, "red")
    assert info.value.request_id == "job-1"


# -- timeouts and the deadline ------------------------------------------------------------------

def test_read_timeout_on_post_is_not_retried(server: RunningServer) -> None:
    server.state.inject("fal.run", Fault(delay_s=0.5))
    before = server.state.hits["fal.run"]
    with gateway(server, timeout=0.1, max_retries=3) as gw:
        with pytest.raises(GatewayTimeoutError, match="not retried"):
            gw.segment(IMAGE, "red")
    assert server.state.hits["fal.run"] - before == 1


def test_read_timeout_on_get_is_retried(server: RunningServer) -> None:
    server.state.inject("fal.status", Fault(delay_s=0.5))
    with gateway(server, "fal_queue", timeout=0.1) as gw:
        seg = gw.segment(IMAGE, "red", max_masks=5)
    check_masks(seg, IMAGE, prompt="red", max_masks=5)


def test_deadline_during_a_request(server: RunningServer) -> None:
    server.state.inject("gateway.generate", Fault(delay_s=0.6))
    with gateway(server, "aigateway", deadline=0.15) as gw:
        t0 = time.monotonic()
        with pytest.raises(DeadlineExceededError, match="deadline of 0.15 s"):
            gw.segment(IMAGE, "red")
        assert time.monotonic() - t0 < 0.5


def test_deadline_during_polling_keeps_the_request_id(
        make_server: Callable[..., RunningServer]) -> None:
    srv = make_server(queue_s=30.0)
    with gateway(srv, "fal_queue", deadline=0.2, poll_interval=0.02) as gw:
        t0 = time.monotonic()
        with pytest.raises(DeadlineExceededError) as info:
            gw.segment(IMAGE, "red")
        assert time.monotonic() - t0 < 0.5
    assert info.value.request_id in srv.state.jobs


def test_deadline_bounds_retry_waits(server: RunningServer) -> None:
    server.state.inject("fal.run", *[Fault(status=503)] * 5)
    with gateway(server, deadline=0.3, backoff_base=0.2, backoff_max=5.0, max_retries=5) as gw:
        t0 = time.monotonic()
        with pytest.raises(DeadlineExceededError, match="retry"):
            gw.segment(IMAGE, "red")
        assert time.monotonic() - t0 < 0.35


def test_connection_refused_is_retried_then_raised() -> None:
    with Gateway("fal", api_key=KEY, base_url="http://127.0.0.1:9", max_retries=2,
                 **{**FAST, "backoff_base": 0.001}) as gw:
        with pytest.raises(GatewayConnectionError, match="after 3 attempts"):
            gw.segment(IMAGE, "red")


# -- cut, oversized and malformed answers -------------------------------------------------------

def test_cut_body_post_not_retried_get_retried(server: RunningServer) -> None:
    server.state.inject("fal.run", Fault(truncate_after=10))
    with gateway(server) as gw:
        with pytest.raises(GatewayConnectionError, match="not retried"):
            gw.segment(IMAGE, "red")
    server.state.inject("gateway.output", Fault(truncate_after=10))
    with gateway(server, "aigateway", response_format="url") as gw:
        check_masks(gw.segment(IMAGE, "red", max_masks=5), IMAGE, prompt="red", max_masks=5)


def test_cut_json_is_invalid(server: RunningServer) -> None:
    server.state.inject("fal.run", Fault(truncate_after=25, full_length_header=False))
    with gateway(server) as gw:
        with pytest.raises(InvalidResponseError, match="not JSON"):
            gw.segment(IMAGE, "red")


def test_response_cap_with_content_length(server: RunningServer) -> None:
    with gateway(server, max_response_bytes=64) as gw:
        with pytest.raises(ResponseTooLargeError, match="max_response_bytes=64"):
            gw.segment(IMAGE, "red", max_masks=5)


def test_response_cap_stops_reading_a_chunked_body(canned: CannedServer) -> None:
    stream = Stream(total=256 << 20)
    canned.add("POST", "/fal-ai/sam-3/image-rle", stream)
    with Gateway("fal", api_key=KEY, base_url=canned.base_url, max_response_bytes=1 << 20,
                 **FAST) as gw:
        with pytest.raises(ResponseTooLargeError):
            gw.segment(IMAGE, "red")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and stream.sent < stream.total:
        before = stream.sent
        time.sleep(0.05)
        if stream.sent == before:
            break
    assert stream.sent < stream.total // 4  # the client hung up long before the end


def test_mask_count_cap(server: RunningServer) -> None:
    with gateway(server, max_response_masks=1) as gw:
        with pytest.raises(ResponseTooLargeError, match="2 masks"):
            gw.segment(IMAGE, "red", max_masks=5)


def test_malformed_rle_names_the_mask(canned: CannedServer) -> None:
    good = fal_text(IMAGE[None, :, :, 0] > 200)[0]
    canned.add("POST", "/fal-ai/sam-3/image-rle",
               _json_answer({"rle": [good, "5 3 4 2"], "scores": [0.9, 0.8]}),
               _json_answer({"rle": [good, good, "1 9999999"]}),
               _json_answer({"rle": [good, None]}),
               _json_answer({"rle": [good], "scores": [0.5, 0.2]}),
               _json_answer({"rle": [good], "boxes": [[10, 20, 30, 40]]}))
    with Gateway("fal", api_key=KEY, base_url=canned.base_url, **FAST) as gw:
        for match in ("mask 1: run 1", "mask 2: run 0", "mask 1: not an RLE", "score",
                      "normalized"):
            with pytest.raises(ValueError, match=match) as info:
                gw.segment(IMAGE, "red")
            assert isinstance(info.value, InvalidResponseError)


def test_bad_base64_and_bad_payloads(canned: CannedServer) -> None:
    path = "/v1/images/generations"
    canned.add("POST", path, _json_answer({"data": [{"b64_json": "@@not base64@@"}]}),
               _json_answer({"data": "nope"}),
               _json_answer({"data": [{"b64_json": base64.b64encode(b"\x00\x01junk").decode()}]}),
               (200, {"Content-Type": "text/html"}, b"<html>gateway page</html>"))
    with Gateway("aigateway", api_key=KEY, base_url=canned.base_url, **FAST) as gw:
        for match in ("not valid base64", "'data' must be a list", "neither a PNG", "not JSON"):
            with pytest.raises(InvalidResponseError, match=match):
                gw.segment(IMAGE, "red")


def test_sniffs_coco_png_and_fal_text(canned: CannedServer) -> None:
    masks = np.stack([IMAGE[:, :, 0] > 200, IMAGE[:, :, 2] > 200])
    coco = turborle.encode(masks).to_coco()
    png = _png((masks[1] * 255).astype(np.uint8))
    b64 = base64.b64encode
    canned.add("GET", "/files/coco.json", _json_answer({"masks": coco, "scores": [0.5, 0.25]}))
    canned.add("POST", "/v1/images/generations",
               _json_answer({"data": [{"url": canned.base_url + "/files/coco.json"},
                                      {"b64_json": b64(png).decode()},
                                      {"url": "data:text/plain;base64,"
                                       + b64(fal_text(masks[:1])[0].encode()).decode()}]}),
               _json_answer({"data": [{"b64_json": b64(json.dumps(
                   [{"segmentation": c, "score": 0.7, "bbox": [1, 2, 3, 4]} for c in coco]
               ).encode()).decode()}]}),
               _json_answer({"data": [{"b64_json": b64(json.dumps(
                   turborle.encode(np.ones((10, 10), bool)).to_coco()[0]).encode()).decode()}]}))
    with Gateway("aigateway", api_key=KEY, base_url=canned.base_url, **FAST) as gw:
        seg = gw.segment(IMAGE, "red")
        assert seg.dialect == "coco+png+fal" and len(seg) == 4
        assert np.array_equal(seg.decode(), np.concatenate([masks, masks[1:], masks[:1]]))
        assert seg.scores is None  # the PNG and the text carry none
        assert np.allclose(seg.boxes[2], turborle.bbox(turborle.encode(masks[1]), fmt="xyxy")[0])
        seg = gw.segment(IMAGE, "red")  # COCO results: scores and pixel xywh boxes
        assert seg.dialect == "coco" and np.allclose(seg.scores, [0.7, 0.7])
        assert np.allclose(seg.boxes, [[1, 2, 4, 6]] * 2)
        with pytest.raises(InvalidResponseError, match="not the size of the image"):
            gw.segment(IMAGE, "red")
    file_request = next(r for r in canned.requests if r.path == "/files/coco.json")
    assert file_request.headers.get("Authorization") == f"Bearer {KEY}"  # same origin


def test_key_only_sent_to_the_provider_origin(canned: CannedServer) -> None:
    output = _json_answer({"rle": fal_text(IMAGE[None, :, :, 0] > 200)})
    with start_server_thread(ServerConfig()) as other:  # another origin, holding nothing
        foreign = other.base_url + "/v1/outputs/x"
        canned.add("POST", "/queue/fal-ai/sam-3/image-rle", _json_answer(
            {"request_id": "r1", "status_url": foreign, "response_url": foreign}))
        with Gateway("fal", api_key=KEY, base_url=canned.base_url, queue=True,
                     queue_base_url=canned.base_url + "/queue", **FAST) as gw:
            with pytest.raises(InvalidResponseError, match="another origin"):
                gw.segment(IMAGE, "red")
        assert other.state.hits["gateway.output"] == 0
    canned.add("GET", "/elsewhere", output)
    with Gateway("aigateway", api_key=KEY, base_url=f"http://localhost:{canned.base_url.split(':')[-1]}",
                 **FAST) as gw:
        canned.add("POST", "/v1/images/generations",
                   _json_answer({"data": [{"url": canned.base_url + "/elsewhere"}]}))
        assert len(gw.segment(IMAGE, "red")) == 1
    fetched = next(r for r in canned.requests if r.path == "/elsewhere")
    assert "Authorization" not in fetched.headers  # 127.0.0.1 is not localhost's origin


# -- the key never shows ------------------------------------------------------------------------

def test_key_never_printed(server: RunningServer, canned: CannedServer,
                           caplog: pytest.LogCaptureFixture,
                           capsys: pytest.CaptureFixture[str]) -> None:
    def echo(rec: Recorded):  # a server that puts the caller's Authorization in its error
        return _json_answer({"detail": f"bad header {rec.headers.get('Authorization')}"}, 500)

    canned.add("POST", "/fal-ai/sam-3/image-rle", echo, echo)
    caught: list[BaseException] = []
    with caplog.at_level(logging.DEBUG):
        with Gateway("fal", api_key=KEY, base_url=canned.base_url, max_retries=1,
                     **{k: v for k, v in FAST.items()}) as gw:
            assert KEY not in repr(gw) and KEY not in str(gw)
            with pytest.raises(ServerError) as info:
                gw.segment(IMAGE, "red")
            caught.append(info.value)
            assert "[redacted]" in str(info.value)
        scenarios = [
            ("fal.run", Fault(status=401), AuthenticationError, {}),
            ("fal.run", Fault(status=503), ServerError, {"max_retries": 0}),
            ("fal.run", Fault(delay_s=0.3), GatewayTimeoutError, {"timeout": 0.05}),
            ("fal.run", Fault(delay_s=0.3), DeadlineExceededError, {"deadline": 0.05}),
            ("fal.run", Fault(truncate_after=5), GatewayConnectionError, {}),
            ("fal.run", Fault(truncate_after=5, full_length_header=False),
             InvalidResponseError, {}),
        ]
        for route, fault, error, options in scenarios:
            server.state.inject(route, fault)
            with gateway(server, **options) as gw:
                with pytest.raises(error) as info:
                    gw.segment(IMAGE, "red")
                caught.append(info.value)
    texts = [caplog.text, capsys.readouterr().out]
    for exc in caught:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        texts += [repr(v) for v in vars(exc).values()]
    for text in texts:
        assert KEY not in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(Gateway("fal", api_key=KEY))
