"""The local reference server (turborle.server) over real loopback HTTP.

Every expectation is computed independently of the server: masks from the demo image's
geometry or from the segmenter called directly on the decoded pixels, boxes from numpy.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import time
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
Image = pytest.importorskip("PIL.Image")

import turborle  # noqa: E402
from turborle.server import (  # noqa: E402
    Fault,
    RunningServer,
    ServerConfig,
    asset_bytes,
    load_faults,
    start_server_thread,
)
from turborle.server.segment import (  # noqa: E402
    BoxPrompt,
    ClassicalSegmenter,
    PointPrompt,
    Segment,
    label_regions,
)

KEY = "test-key"
MODEL = "meta/sam-3-image-rle"
ASSETS = Path(turborle.__file__).parent / "server" / "assets"  # as installed (the PNG ships)
# The script that draws the PNG is a development tool: it lives in the source tree only.
SOURCE_ASSETS = Path(__file__).resolve().parents[1] / "src" / "turborle" / "server" / "assets"


def _load_demo_module() -> Any:
    spec = importlib.util.spec_from_file_location("make_demo_image",
                                                  SOURCE_ASSETS / "make_demo_image.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DEMO = _load_demo_module()
PNG = (ASSETS / "demo.png").read_bytes()
PIXELS: npt.NDArray[np.uint8] = np.asarray(Image.open(io.BytesIO(PNG)).convert("RGB"))
H, W = PIXELS.shape[:2]
DATA_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()


def colour_mask(*names: str) -> npt.NDArray[np.bool_]:
    """Pixels painted in the colour of the named demo shapes (independent of the segmenter)."""
    out = np.zeros((H, W), dtype=bool)
    for name in names:
        out |= (PIXELS == np.array(DEMO.SHAPES[name][2], dtype=np.uint8)).all(axis=2)
    return out


def expected_segments(prompt: str = "", points: Sequence[PointPrompt] = (),
                      boxes: Sequence[BoxPrompt] = (), max_masks: int = 1) -> list[Segment]:
    return ClassicalSegmenter().segment(PIXELS, prompt, points, boxes, max_masks)


def normalized_box(mask: npt.NDArray[np.bool_]) -> list[float]:
    rows, cols = np.nonzero(mask)
    x0, x1, y0, y1 = cols.min(), cols.max() + 1, rows.min(), rows.max() + 1
    return [(x0 + x1) / 2 / W, (y0 + y1) / 2 / H, (x1 - x0) / W, (y1 - y0) / H]


def decode_fal(output: dict[str, Any]) -> npt.NDArray[np.bool_]:
    return turborle.decode(turborle.from_fal(output["rle"], H, W))


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with start_server_thread(ServerConfig(api_key=KEY, queue_s=0.2, run_s=0.2)) as srv:
        yield srv


@pytest.fixture()
def http() -> Iterator[Any]:
    with httpx.Client(timeout=10.0) as client:
        yield client


def fal_headers() -> dict[str, str]:
    return {"Authorization": f"Key {KEY}"}


def gw_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


def fal_run(http: Any, server: RunningServer, body: dict[str, Any]) -> Any:
    return http.post(f"{server.base_url}/fal-ai/sam-3/image-rle", json=body, headers=fal_headers())


def generate(http: Any, server: RunningServer, body: dict[str, Any],
             headers: dict[str, str] | None = None) -> Any:
    return http.post(f"{server.base_url}/v1/images/generations",
                     json={"model": MODEL, **body}, headers=headers or gw_headers())


# -- the segmenter on its own -------------------------------------------------------------------
def test_label_regions_matches_breadth_first_search() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(1, 14, 2))
        valid = rng.random((h, w)) < 0.6
        groups = rng.integers(0, 3, (h, w))
        expected = -np.ones((h, w), dtype=np.int64)
        for i in range(h):
            for j in range(w):
                if valid[i, j] and expected[i, j] < 0:
                    expected[i, j] = i * w + j
                    todo = deque([(i, j)])
                    while todo:
                        a, b = todo.popleft()
                        for c, d in ((a + 1, b), (a - 1, b), (a, b + 1), (a, b - 1)):
                            if 0 <= c < h and 0 <= d < w and valid[c, d] and expected[c, d] < 0 \
                                    and groups[c, d] == groups[a, b]:
                                expected[c, d] = i * w + j
                                todo.append((c, d))
        assert np.array_equal(label_regions(valid, groups), expected)


def test_classical_segmenter_follows_its_documented_rules() -> None:
    seg = ClassicalSegmenter()
    # colour words select the shape drawn in that colour
    for word, shape in [("red", "red_rectangle"), ("green", "green_disc"),
                        ("blue", "blue_triangle"), ("yellow", "yellow_ellipse")]:
        (only,) = seg.segment(PIXELS, word, [], [], 5)
        assert np.array_equal(only.mask, colour_mask(shape)), word
    # "dark blue": both rules must hold; "black" finds the square and the tyre, largest first
    (dark_blue,) = seg.segment(PIXELS, "Dark BLUE", [], [], 5)
    assert np.array_equal(dark_blue.mask, colour_mask("blue_triangle"))
    black = seg.segment(PIXELS, "black", [], [], 5)
    assert [m.mask.sum() for m in black] == [colour_mask("black_square").sum(),
                                            colour_mask("wheel_tyre").sum()]
    # a foreground point: the region of its colour; a background point removes a region
    (disc,) = seg.segment(PIXELS, "", [PointPrompt(200, 70)], [], 3)
    assert np.array_equal(disc.mask, colour_mask("green_disc"))
    (wheel,) = seg.segment(PIXELS, "", [PointPrompt(280, 100), PointPrompt(258, 100)], [], 3)
    assert np.array_equal(wheel.mask, colour_mask("wheel_tyre", "wheel_hub"))
    (tyre,) = seg.segment(PIXELS, "", [PointPrompt(258, 100), PointPrompt(280, 100, 0)], [], 3)
    assert np.array_equal(tyre.mask, colour_mask("wheel_tyre"))
    # a box: the largest region that differs from the box border (tyre and hub together)
    (boxed,) = seg.segment(PIXELS, "", [], [BoxPrompt(250, 70, 310, 130)], 3)
    assert np.array_equal(boxed.mask, colour_mask("wheel_tyre", "wheel_hub"))
    # no colour word: salient regions, largest first; empty prompt or absent colour: nothing
    salient = seg.segment(PIXELS, "wheel", [], [], 32)
    assert [int(m.mask.sum()) for m in salient] == sorted(
        (int(colour_mask(n).sum()) for n in DEMO.SHAPES), reverse=True)
    assert seg.segment(PIXELS, "", [], [], 3) == []
    assert seg.segment(PIXELS, "magenta", [], [], 3) == []
    # order points, boxes, text; cut to max_masks; scores: contrast against the ring outside
    mixed = seg.segment(PIXELS, "red", [PointPrompt(200, 70)], [BoxPrompt(30, 120, 140, 230)], 2)
    assert [np.array_equal(m.mask, colour_mask(n)) for m, n in
            zip(mixed, ["green_disc", "blue_triangle"])] == [True, True]
    inside = np.array(DEMO.SHAPES["red_rectangle"][2], dtype=float)
    red = seg.segment(PIXELS, "red", [], [], 1)[0]
    assert red.score == round(float(np.abs(inside - np.array(DEMO.BACKGROUND)).max()) / 255, 4)


def test_demo_image_is_reproducible_and_small() -> None:
    assert len(PNG) < 30_000
    assert (W, H) == (DEMO.WIDTH, DEMO.HEIGHT) == (320, 240)
    assert np.array_equal(np.asarray(DEMO.make_demo_image()), PIXELS)
    assert asset_bytes("demo.png") == PNG
    assert asset_bytes("../server.py") is None
    x0, y0, x1, y1 = DEMO.SHAPES["red_rectangle"][1]
    expected = np.zeros((H, W), dtype=bool)
    expected[y0:y1 + 1, x0:x1 + 1] = True
    assert np.array_equal(colour_mask("red_rectangle"), expected)


# -- fal sync -----------------------------------------------------------------------------------
@pytest.mark.parametrize("body, expected", [
    ({"prompt": "red"}, expected_segments("red")),
    ({"prompt": "", "point_prompts": [{"x": 200, "y": 70, "label": 1}]},
     expected_segments("", [PointPrompt(200, 70)])),
    ({"prompt": "", "box_prompts": [{"x_min": 250, "y_min": 70, "x_max": 310, "y_max": 130}]},
     expected_segments("", [], [BoxPrompt(250, 70, 310, 130)])),
    ({"prompt": "wheel", "return_multiple_masks": True, "max_masks": 5},
     expected_segments("wheel", max_masks=5)),
    ({"return_multiple_masks": True, "max_masks": 32}, expected_segments("wheel", max_masks=32)),
])
def test_fal_sync_masks_are_the_segmenters(server: RunningServer, http: Any,
                                           body: dict[str, Any], expected: list[Segment]) -> None:
    r = fal_run(http, server, {"image_url": DATA_URI, "include_scores": True,
                               "include_boxes": True, **body})
    assert r.status_code == 200, r.text
    assert r.headers["x-fal-request-id"]
    assert "not SAM 3" in r.headers["x-turborle-segmenter"]
    out = r.json()
    multiple = body.get("return_multiple_masks", False)
    assert isinstance(out["rle"], list if multiple else str)
    masks = decode_fal(out)
    assert masks.shape == (len(expected), H, W)
    for got, want in zip(masks, expected):
        assert np.array_equal(got, want.mask)
    assert out["scores"] == [s.score for s in expected]
    for got_box, want in zip(out["boxes"], expected):
        assert got_box == pytest.approx(normalized_box(want.mask), abs=1e-6)
    assert out["metadata"] == [{"index": i, "score": out["scores"][i], "box": out["boxes"][i]}
                               for i in range(len(expected))]


def test_fal_text_is_row_major_one_based(server: RunningServer, http: Any) -> None:
    out = fal_run(http, server, {"image_url": DATA_URI, "prompt": "red"}).json()
    x0, y0, x1, y1 = DEMO.SHAPES["red_rectangle"][1]
    runs = [f"{(y * W + x0) + 1} {x1 - x0 + 1}" for y in range(y0, y1 + 1)]
    assert out["rle"] == " ".join(runs)
    assert "scores" not in out and "boxes" not in out and len(out["metadata"]) == 1


def test_missing_prompt_means_wheel(server: RunningServer, http: Any) -> None:
    point = {"point_prompts": [{"x": 200, "y": 70, "label": 1}], "return_multiple_masks": True,
             "max_masks": 8}
    missing = fal_run(http, server, {"image_url": DATA_URI, **point}).json()
    wheel = fal_run(http, server, {"image_url": DATA_URI, "prompt": "wheel", **point}).json()
    empty = fal_run(http, server, {"image_url": DATA_URI, "prompt": "", **point}).json()
    assert missing == wheel
    assert len(empty["rle"]) == 1 and len(missing["rle"]) == 8


def test_asset_url_is_served_and_accepted(server: RunningServer, http: Any) -> None:
    url = f"{server.base_url}/assets/demo.png"
    got = http.get(url)
    assert got.status_code == 200 and got.content == PNG
    a = fal_run(http, server, {"image_url": url, "prompt": "blue"}).json()
    b = fal_run(http, server, {"image_url": DATA_URI, "prompt": "blue"}).json()
    assert a == b


def test_no_masks_is_422(server: RunningServer, http: Any) -> None:
    r = fal_run(http, server, {"image_url": DATA_URI, "prompt": "magenta"})
    assert r.status_code == 422 and r.json() == {"detail": "No masks generated"}
    g = generate(http, server, {"image_url": DATA_URI, "prompt": "magenta"})
    assert g.status_code == 422
    assert g.json()["error"]["code"] == "no_masks_generated"
    assert g.json()["error"]["message"] == "No masks generated"


@pytest.mark.parametrize("body, field", [
    ({}, "image_url"),
    ({"image_url": 5}, "image_url"),
    ({"image_url": "https://example.com/cat.png"}, "image_url"),
    ({"image_url": "data:image/png,notbase64"}, "image_url"),
    ({"image_url": "data:image/png;base64,@@@@"}, "image_url"),
    ({"image_url": "data:text/plain;base64,aGVsbG8="}, "image_url"),
    ({"image_url": "data:image/png;base64," + base64.b64encode(b"not an image").decode()},
     "image_url"),
    ({"image_url": "data:image/png;base64," + base64.b64encode(PNG[:200]).decode()},
     "image_url"),
    ({"image_url": DATA_URI, "prompt": 3}, "prompt"),
    ({"image_url": DATA_URI, "point_prompts": [{"x": 400, "y": 10, "label": 1}]},
     "point_prompts"),
    ({"image_url": DATA_URI, "point_prompts": [{"x": True, "y": 10}]}, "point_prompts"),
    ({"image_url": DATA_URI, "point_prompts": [{"x": 1, "y": 1, "label": 2}]},
     "point_prompts"),
    ({"image_url": DATA_URI, "point_prompts": {"x": 1}}, "point_prompts"),
    ({"image_url": DATA_URI, "box_prompts": [{"x_min": 50, "y_min": 5, "x_max": 10,
                                              "y_max": 20}]}, "box_prompts"),
    ({"image_url": DATA_URI, "box_prompts": [{"x_min": 500, "y_min": 5, "x_max": 600,
                                              "y_max": 20}]}, "box_prompts"),
    ({"image_url": DATA_URI, "max_masks": 0}, "max_masks"),
    ({"image_url": DATA_URI, "max_masks": 33}, "max_masks"),
    ({"image_url": DATA_URI, "include_scores": "yes"}, "include_scores"),
])
def test_invalid_input_names_the_field(server: RunningServer, http: Any, body: dict[str, Any],
                                       field: str) -> None:
    r = fal_run(http, server, body)
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["loc"][:2] == ["body", field] and error["msg"] and error["type"]
    g = generate(http, server, body)
    assert g.status_code == 400, g.text
    assert g.json()["error"]["type"] == "invalid_request_error"
    assert g.json()["error"]["param"].startswith(field)


def test_tiny_image_points_are_checked_against_its_size(server: RunningServer,
                                                       http: Any) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 1), (9, 9, 9)).save(buffer, format="PNG")
    tiny = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    ok = fal_run(http, server, {"image_url": tiny, "prompt": "",
                                "point_prompts": [{"x": 1.9, "y": 0.5, "label": 1}]})
    assert ok.status_code == 200 and ok.json()["rle"] == "1 2"
    off = fal_run(http, server, {"image_url": tiny, "prompt": "",
                                 "point_prompts": [{"x": 2, "y": 0, "label": 1}]})
    assert off.status_code == 422 and "outside the 2x1 image" in off.json()["detail"][0]["msg"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'{"image_url": NaN}', b"\xff\xfe"])
def test_bodies_that_are_not_json_objects(server: RunningServer, http: Any, raw: bytes) -> None:
    r = http.post(f"{server.base_url}/fal-ai/sam-3/image-rle", content=raw, headers=fal_headers())
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    g = http.post(f"{server.base_url}/v1/images/generations", content=raw, headers=gw_headers())
    assert g.status_code == 400 and g.json()["error"]["type"] == "invalid_request_error"


def test_body_size_cap() -> None:
    with start_server_thread(ServerConfig(max_body_bytes=1000)) as srv, \
            httpx.Client(timeout=10.0) as http:
        big = {"image_url": DATA_URI}
        r = http.post(f"{srv.base_url}/fal-ai/sam-3/image-rle", json=big)
        assert r.status_code == 413 and "1000" in r.json()["detail"]
        g = http.post(f"{srv.base_url}/v1/images/generations", json={"model": MODEL, **big})
        assert g.status_code == 413 and g.json()["error"]["type"] == "invalid_request_error"


def test_image_pixel_cap() -> None:
    with start_server_thread(ServerConfig(max_image_pixels=320 * 239)) as srv, \
            httpx.Client(timeout=10.0) as http:
        r = http.post(f"{srv.base_url}/fal-ai/sam-3/image-rle", json={"image_url": DATA_URI})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "image_too_large"


# -- auth, rate limit, credits, 404 ---------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Key wrong", "Bearer " + KEY, "Key"])
def test_fal_auth(server: RunningServer, http: Any, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = http.post(f"{server.base_url}/fal-ai/sam-3/image-rle",
                  json={"image_url": DATA_URI, "prompt": "red"}, headers=headers)
    assert r.status_code == 401 and isinstance(r.json()["detail"], str)


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Key " + KEY])
def test_gateway_auth(server: RunningServer, http: Any, header: str | None) -> None:
    headers = {"Authorization": header} if header else {"X-None": "1"}
    r = generate(http, server, {"image_url": DATA_URI, "prompt": "red"}, headers)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"


def test_unknown_model_and_routes_are_404(server: RunningServer, http: Any) -> None:
    r = http.post(f"{server.base_url}/v1/images/generations", headers=gw_headers(),
                  json={"model": "meta/sam-9", "image_url": DATA_URI, "prompt": "red"})
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
    assert http.get(f"{server.base_url}/v1/nothing").json()["error"]["type"] == "not_found"
    assert http.get(f"{server.base_url}/fal-ai/other").json() == {"detail": "Not Found"}
    wrong = http.get(f"{server.base_url}/fal-ai/sam-3/image-rle")
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]


def test_rate_limit_per_key_with_retry_after() -> None:
    with start_server_thread(ServerConfig(rate_limit=2, rate_window_s=30)) as srv, \
            httpx.Client(timeout=10.0) as http:
        body = {"model": MODEL, "image_url": DATA_URI, "prompt": "red",
                "response_format": "b64_json"}
        url = f"{srv.base_url}/v1/images/generations"
        a = {"Authorization": "Bearer a"}
        assert [http.post(url, json=body, headers=a).status_code for _ in range(2)] == [200, 200]
        limited = http.post(url, json=body, headers=a)
        assert limited.status_code == 429
        assert limited.json()["error"]["type"] == "rate_limit_error"
        assert 1 <= int(limited.headers["Retry-After"]) <= 30
        # another key has its own window; fal keys count the same way
        assert http.post(url, json=body, headers={"Authorization": "Bearer b"}).status_code == 200
        fal = f"{srv.base_url}/fal-ai/sam-3/image-rle"
        assert http.post(fal, json=body, headers={"Authorization": "Key b"}).status_code == 200
        r = http.post(fal, json=body, headers={"Authorization": "Key b"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert r.json() == {"detail": "Rate limit exceeded"}


def test_credits_run_out_with_402() -> None:
    with start_server_thread(ServerConfig(credits=1)) as srv, httpx.Client(timeout=10.0) as http:
        body = {"model": MODEL, "image_url": DATA_URI, "prompt": "red"}
        url = f"{srv.base_url}/v1/images/generations"
        assert http.post(url, json=body).status_code == 200
        r = http.post(url, json=body)
        assert r.status_code == 402 and r.json()["error"]["type"] == "insufficient_credits"


# -- fault injection ----------------------------------------------------------------------------
@pytest.mark.parametrize("status, kind", [(401, "authentication_error"),
                                          (402, "insufficient_credits"), (404, "not_found"),
                                          (429, "rate_limit_error"), (500, "server_error"),
                                          (503, "service_unavailable")])
def test_injected_gateway_statuses(server: RunningServer, http: Any, status: int,
                                   kind: str) -> None:
    server.state.inject("gateway.generate", Fault(status=status, retry_after="7"))
    r = generate(http, server, {"image_url": DATA_URI, "prompt": "red"})
    assert r.status_code == status and r.json()["error"]["type"] == kind
    assert r.headers["Retry-After"] == "7"
    # consumed: the next request is served normally
    assert generate(http, server, {"image_url": DATA_URI, "prompt": "red"}).status_code == 200


def test_injected_fal_statuses_carry_error_type(server: RunningServer, http: Any) -> None:
    server.state.inject("fal.run", Fault(status=500), Fault(status=504, headers={
        "X-Fal-Request-Timeout-Type": "user"}), Fault(status=429))
    body = {"image_url": DATA_URI, "prompt": "red"}
    first, second, third = (fal_run(http, server, body) for _ in range(3))
    assert first.status_code == 500 and first.json()["error_type"] == "runner_server_error"
    assert second.status_code == 504 and second.json()["error_type"] == "request_timeout"
    assert second.headers["X-Fal-Request-Timeout-Type"] == "user"
    assert third.status_code == 429 and third.headers["Retry-After"] == "1"
    assert fal_run(http, server, body).status_code == 200


def test_injected_delay_trips_a_client_deadline(server: RunningServer) -> None:
    server.state.inject("fal.run", Fault(delay_s=0.6))
    with httpx.Client(timeout=0.2) as quick, pytest.raises(httpx.ReadTimeout):
        fal_run(quick, server, {"image_url": DATA_URI, "prompt": "red"})
    server.state.inject("fal.run", Fault(delay_s=0.3))
    with httpx.Client(timeout=5.0) as patient:
        start = time.monotonic()
        r = fal_run(patient, server, {"image_url": DATA_URI, "prompt": "red"})
        assert r.status_code == 200 and time.monotonic() - start >= 0.3


def test_injected_truncation(server: RunningServer, http: Any) -> None:
    body = {"image_url": DATA_URI, "prompt": "red"}
    whole = fal_run(http, server, body).content
    server.state.inject("fal.run", Fault(truncate_after=25))
    with pytest.raises(httpx.RemoteProtocolError):
        fal_run(http, server, body)
    server.state.inject("fal.run", Fault(truncate_after=25, full_length_header=False))
    cut = fal_run(http, server, body)
    assert cut.status_code == 200 and cut.content == whole[:25]
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)
    assert fal_run(http, server, body).content == whole


def test_faults_from_config_and_unknown_routes() -> None:
    with pytest.raises(ValueError, match="unknown fault routes"):
        ServerConfig(faults={"fal.nope": [Fault(status=500)]})
    with pytest.raises(ValueError, match="HTTP status"):
        Fault(status=99)
    assert load_faults({"fal.run": [{"status": 503, "retry_after": "2"}, {"delay_s": 1}]}) == {
        "fal.run": [Fault(status=503, retry_after="2"), Fault(delay_s=1)]}
    for bad in [[], {"fal.nope": []}, {"fal.run": {}}, {"fal.run": [{"stat": 1}]},
                {"fal.run": [{"status": 42}]}]:
        with pytest.raises(ValueError):
            load_faults(bad)
    config = ServerConfig(faults=load_faults(json.loads('{"fal.status": [{"status": 503}]}')))
    with start_server_thread(config) as srv, httpx.Client(timeout=10.0) as http:
        sub = http.post(f"{srv.base_url}/queue/fal-ai/sam-3/image-rle",
                        json={"image_url": DATA_URI, "prompt": "red"}).json()
        assert http.get(sub["status_url"]).status_code == 503
        assert http.get(sub["status_url"]).json()["status"] == "COMPLETED"
        assert srv.state.hits["fal.status"] == 2


# -- fal queue ----------------------------------------------------------------------------------
def poll(http: Any, url: str, headers: dict[str, str], final: set[str]) -> list[dict[str, Any]]:
    seen = []
    for _ in range(200):  # bounded: 200 x 20 ms
        got = http.get(url, headers=headers)
        assert got.status_code == 200, got.text
        seen.append(got.json())
        if seen[-1]["status"] in final:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{url} never reached {final}: {seen[-1]}")


def test_fal_queue_flow(server: RunningServer, http: Any) -> None:
    body = {"image_url": DATA_URI, "prompt": "wheel", "return_multiple_masks": True,
            "max_masks": 4, "include_scores": True}
    sub = http.post(f"{server.fal_queue_url}/fal-ai/sam-3/image-rle", json=body,
                    headers=fal_headers())
    assert sub.status_code == 200
    info = sub.json()
    rid = info["request_id"]
    root = f"{server.base_url}/queue/fal-ai/sam-3/requests/{rid}"
    assert info == {"request_id": rid, "status_url": f"{root}/status", "response_url": root,
                    "cancel_url": f"{root}/cancel", "queue_position": 0}
    early = http.get(info["response_url"], headers=fal_headers())
    assert early.status_code == 400
    statuses = poll(http, info["status_url"], fal_headers(), {"COMPLETED"})
    order = [s["status"] for s in statuses]
    # The states only move forward; the request may leave the queue before the first poll
    # (a slow machine, a sanitized build), so the first one seen is either of the two.
    rank = {"IN_QUEUE": 0, "IN_PROGRESS": 1, "COMPLETED": 2}
    assert [rank[s] for s in order] == sorted(rank[s] for s in order)
    assert order[0] in ("IN_QUEUE", "IN_PROGRESS") and order[-1] == "COMPLETED"
    assert "IN_PROGRESS" in order
    assert "error" not in statuses[-1]
    result = http.get(info["response_url"], headers=fal_headers())
    assert result.status_code == 200
    assert result.json() == fal_run(http, server, body).json()
    masks = decode_fal(result.json())
    for got, want in zip(masks, expected_segments("wheel", max_masks=4), strict=True):
        assert np.array_equal(got, want.mask)
    # status and result live under the app root, not under /image-rle
    wrong = http.get(f"{server.base_url}/queue/fal-ai/sam-3/image-rle/requests/{rid}/status",
                     headers=fal_headers())
    assert wrong.status_code == 405
    assert http.get(f"{root}x/status", headers=fal_headers()).status_code == 404
    assert http.get(info["status_url"]).status_code == 401


def test_fal_queue_errors_show_at_the_result(server: RunningServer, http: Any) -> None:
    sub = http.post(f"{server.base_url}/queue/fal-ai/sam-3/image-rle", headers=fal_headers(),
                    json={"image_url": DATA_URI, "prompt": "magenta"}).json()
    final = poll(http, sub["status_url"], fal_headers(), {"COMPLETED"})[-1]
    assert final["error"] == "No masks generated"
    result = http.get(sub["response_url"], headers=fal_headers())
    assert result.status_code == 422 and result.json() == {"detail": "No masks generated"}


def test_fal_queue_cancel(http: Any) -> None:
    with start_server_thread(ServerConfig(queue_s=30)) as srv:
        submit = f"{srv.base_url}/queue/fal-ai/sam-3/image-rle"
        first = http.post(submit, json={"image_url": DATA_URI, "prompt": "red"}).json()
        second = http.post(submit, json={"image_url": DATA_URI, "prompt": "red"}).json()
        assert (first["queue_position"], second["queue_position"]) == (0, 1)
        assert http.get(second["status_url"]).json() == {
            "request_id": second["request_id"], "status_url": second["status_url"],
            "response_url": second["response_url"], "cancel_url": second["cancel_url"],
            "status": "IN_QUEUE", "queue_position": 1}
        cancel = http.put(first["cancel_url"])
        assert cancel.status_code == 202 and cancel.json() == {"status": "CANCELLATION_REQUESTED"}
        again = http.put(first["cancel_url"])
        assert again.status_code == 400 and again.json() == {"status": "ALREADY_COMPLETED"}
        status = http.get(first["status_url"]).json()
        assert status["status"] == "COMPLETED" and status["error_type"] == "request_cancelled"
        assert http.get(first["response_url"]).status_code == 400
        assert http.get(second["status_url"]).json()["queue_position"] == 0


# -- gateway: url vs b64_json, jobs ---------------------------------------------------------------
def test_gateway_url_and_b64_json_carry_the_same_output(server: RunningServer,
                                                       http: Any) -> None:
    body = {"image_url": DATA_URI, "prompt": "green", "include_boxes": True}
    b64 = generate(http, server, {**body, "response_format": "b64_json"})
    assert b64.status_code == 200
    (item,) = b64.json()["data"]
    assert set(item) == {"b64_json"} and isinstance(b64.json()["created"], int)
    inline = json.loads(base64.b64decode(item["b64_json"]))
    by_url = generate(http, server, body)  # "url" is the default
    (link,) = by_url.json()["data"]
    assert link["url"].startswith(server.base_url + "/v1/outputs/")
    fetched = http.get(link["url"])
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "application/json"
    assert fetched.json() == inline == fal_run(http, server, body).json()
    assert np.array_equal(decode_fal(inline)[0], colour_mask("green_disc"))
    assert http.get(server.base_url + "/v1/outputs/nope").status_code == 404
    assert generate(http, server, {**body, "n": 2}).json()["error"]["param"] == "n"
    assert generate(http, server, {**body, "response_format": "png"}).status_code == 400


@pytest.mark.parametrize("how", ["prefer", "body"])
def test_gateway_job_flow(server: RunningServer, http: Any, how: str) -> None:
    body: dict[str, Any] = {"image_url": DATA_URI, "prompt": "yellow"}
    headers = gw_headers()
    if how == "prefer":
        headers["Prefer"] = "respond-async"
    else:
        body["async"] = True
    r = generate(http, server, body, headers)
    assert r.status_code == 202
    job = r.json()
    assert job["status"] == "queued" and job["object"] == "job" and job["id"]
    url = f"{server.base_url}/v1/jobs/{job['id']}"
    states = [s["status"] for s in poll(http, url, gw_headers(), {"succeeded", "failed"})]
    assert states[0] == "queued" and "in_progress" in states and states[-1] == "succeeded"
    final = http.get(url, headers=gw_headers()).json()
    output = http.get(final["result"]["file_url"]).json()
    assert np.array_equal(decode_fal(output)[0], colour_mask("yellow_ellipse"))
    assert http.get(url).status_code == 401
    missing = http.get(f"{server.base_url}/v1/jobs/nope", headers=gw_headers())
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"


def test_gateway_job_that_finds_nothing_fails() -> None:
    with start_server_thread(ServerConfig(gateway_async=True)) as srv, \
            httpx.Client(timeout=10.0) as http:
        r = http.post(f"{srv.base_url}/v1/images/generations",
                      json={"model": MODEL, "image_url": DATA_URI, "prompt": "cyan"})
        assert r.status_code == 202
        final = http.get(f"{srv.base_url}/v1/jobs/{r.json()['id']}").json()
        assert final["status"] == "failed" and final["error"]["code"] == "no_masks_generated"
        assert "result" not in final


# -- the openai SDK -----------------------------------------------------------------------------
def test_openai_sdk_calls_the_images_endpoint(server: RunningServer) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server.openai_base_url, api_key=KEY, max_retries=0,
                           timeout=10.0)
    try:
        r = client.images.generate(model=MODEL, prompt="red", response_format="b64_json",
                                   extra_body={"image_url": DATA_URI, "include_scores": True})
        assert r.data is not None and r.data[0].b64_json is not None
        output = json.loads(base64.b64decode(r.data[0].b64_json))
        assert np.array_equal(decode_fal(output)[0], colour_mask("red_rectangle"))
        assert output["scores"] == [expected_segments("red")[0].score]
        linked = client.images.generate(model=MODEL, prompt="red",
                                        extra_body={"image_url": DATA_URI})
        assert linked.data is not None and linked.data[0].url is not None
        with httpx.Client(timeout=10.0) as http:
            assert http.get(linked.data[0].url).json()["rle"] == output["rle"]
        with pytest.raises(openai.NotFoundError):
            client.images.generate(model="meta/unknown", prompt="red",
                                   extra_body={"image_url": DATA_URI})
        with pytest.raises(openai.UnprocessableEntityError, match="No masks generated"):
            client.images.generate(model=MODEL, prompt="magenta",
                                   extra_body={"image_url": DATA_URI})
        server.state.inject("gateway.generate", Fault(status=429, retry_after="3"))
        with pytest.raises(openai.RateLimitError) as info:
            client.images.generate(model=MODEL, prompt="red", extra_body={"image_url": DATA_URI})
        assert info.value.response.headers["retry-after"] == "3"
    finally:
        client.close()
    bad = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="wrong", max_retries=0)
    try:
        with pytest.raises(openai.AuthenticationError):
            bad.images.generate(model=MODEL, prompt="red", extra_body={"image_url": DATA_URI})
    finally:
        bad.close()


# -- plugging a backend, lifecycle --------------------------------------------------------------
class DiagonalSegmenter:
    """A stand-in backend: one mask, the main diagonal band, whatever the prompt."""

    name = "diagonal test backend"

    def segment(self, image: npt.NDArray[np.uint8], prompt: str, points: Sequence[PointPrompt],
                boxes: Sequence[BoxPrompt], max_masks: int) -> list[Segment]:
        h, w = image.shape[:2]
        rows, cols = np.indices((h, w))
        return [Segment(np.abs(rows - cols) < 3, 0.25)]


def test_a_backend_plugs_in(http: Any) -> None:
    with start_server_thread(ServerConfig(segmenter=DiagonalSegmenter())) as srv:
        r = http.post(f"{srv.base_url}/fal-ai/sam-3/image-rle",
                      json={"image_url": DATA_URI, "include_scores": True})
        assert r.headers["x-turborle-segmenter"] == "diagonal test backend"
        rows, cols = np.indices((H, W))
        assert np.array_equal(decode_fal(r.json())[0], np.abs(rows - cols) < 3)
        assert r.json()["scores"] == [0.25]
        assert http.get(srv.base_url + "/").json()["segmenter"] == "diagonal test backend"


def test_stop_closes_the_port(http: Any) -> None:
    srv = start_server_thread()
    assert srv.base_url.startswith("http://127.0.0.1:")
    assert http.get(srv.base_url + "/").status_code == 200
    srv.stop()
    srv.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        http.get(srv.base_url + "/")


def test_refuses_open_interfaces_without_a_key() -> None:
    with pytest.raises(ValueError, match="without an API key"):
        start_server_thread(ServerConfig(), host="0.0.0.0")
