"""turborle convert (and the streaming JSON reader behind it), run as a user would."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest

import turborle
from turborle.__main__ import _iter_json_array
from turborle.testing import reference as ref


def _run(*args):
    return subprocess.run([sys.executable, "-m", "turborle", *args], capture_output=True, text=True)


@pytest.fixture
def masks():
    rng = np.random.default_rng(0)
    m = rng.random((50, 13, 17)) < 0.4
    m[0] = False
    m[1] = True
    return m


def test_convert_coco_to_fal_and_back(tmp_path, masks):
    src, fal, back = tmp_path / "in.json", tmp_path / "fal.json", tmp_path / "back.json"
    coco = turborle.encode(masks).to_coco()
    src.write_text(json.dumps(coco))
    r = _run("convert", str(src), str(fal), "--to", "fal")
    assert r.returncode == 0, r.stderr
    fal_obj = json.loads(fal.read_text())
    assert (fal_obj["height"], fal_obj["width"]) == (13, 17)
    assert fal_obj["rle"] == [ref.mask_to_fal(m) for m in masks]
    r = _run("convert", str(fal), str(back), "--to", "coco")
    assert r.returncode == 0, r.stderr
    assert json.loads(back.read_text()) == coco
    assert "converted 50 masks" in r.stderr


def test_convert_fal_response_needs_size(tmp_path, masks):
    src = tmp_path / "response.json"
    src.write_text(json.dumps({"rle": turborle.encode(masks[:3]).to_fal(), "scores": [0.9] * 3}))
    r = _run("convert", str(src), "-", "--to", "coco")
    assert r.returncode == 2 and "size" in r.stderr
    r = _run("convert", str(src), "-", "--to", "coco", "--size", "13x17")
    assert r.returncode == 0, r.stderr
    got = turborle.from_coco(json.loads(r.stdout))
    assert np.array_equal(turborle.decode(got), masks[:3])


def test_failed_convert_keeps_existing_output(tmp_path):
    src, out = tmp_path / "bad.json", tmp_path / "out.json"
    src.write_text(json.dumps([{"size": [2, 2], "counts": "04"}, {"size": [2, 2], "counts": "0 1"}]))
    out.write_text("precious")
    r = _run("convert", str(src), str(out), "--to", "fal")
    assert r.returncode == 2 and "mask 1" in r.stderr
    assert out.read_text() == "precious"
    assert not (tmp_path / "out.json.partial").exists()


def test_convert_rejects_bad_size_flag(tmp_path):
    src = tmp_path / "in.json"
    src.write_text("[]")
    r = _run("convert", str(src), "-", "--to", "fal", "--size", "big")
    assert r.returncode == 2 and "HxW" in r.stderr


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 1 << 20])
def test_streaming_reader_matches_json_load(block):
    items = [{"size": [2, 3], "counts": "a],b[,\"c"}, 12345678901234567890, -1.5e-3, "x y", [], {},
             [1, [2, [3]]], None, True, 0]
    text = " \n[ " + ",\n ".join(json.dumps(i) for i in items) + " ] \n"
    got = list(_iter_json_array(io.StringIO(text[5:]), text[:5], block=block))
    assert got == items


@pytest.mark.parametrize("text", ["{}", "[1, 2", "[1 2]", "[1,, 2]", "[1, 2,]"])
def test_streaming_reader_rejects_malformed(text):
    with pytest.raises(ValueError):
        list(_iter_json_array(io.StringIO(text[1:]), text[:1], block=2))


# ---- segment, serve, demo: the gateway commands --------------------------------------------

def test_demo_runs_end_to_end_and_writes_an_overlay(tmp_path):
    from PIL import Image

    png = tmp_path / "overlay.png"
    r = _run("demo", "--overlay", str(png))
    assert r.returncode == 0, r.stderr
    assert "bit for bit: True" in r.stdout
    assert "not SAM 3" in r.stdout
    with Image.open(png) as img:
        assert img.size == (320, 240) and img.mode == "RGB"


def test_segment_command_against_the_local_server(tmp_path):
    import os
    from importlib.resources import files

    from turborle.server.segment import ClassicalSegmenter, PointPrompt
    from turborle.server import ServerConfig, start_server_thread

    image = str(files("turborle.server") / "assets" / "demo.png")
    out, png = tmp_path / "masks.json", tmp_path / "overlay.png"
    with start_server_thread(ServerConfig(api_key="sk-test-key-123456")) as server:
        env = {**os.environ, "FAL_KEY": "sk-test-key-123456"}
        r = subprocess.run(
            [sys.executable, "-m", "turborle", "segment", image, "--provider", "fal",
             "--base-url", server.base_url, "--point", "80,60", "--out", str(out),
             "--overlay", str(png)],
            capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "sk-test-key-123456" not in r.stdout + r.stderr
    saved = json.loads(out.read_text())
    from PIL import Image

    with Image.open(image) as img:
        pixels = np.asarray(img.convert("RGB"))
    expected = ClassicalSegmenter().segment(pixels, "", [PointPrompt(80.0, 60.0, 1)], [], 3)
    got = turborle.decode(turborle.from_coco(saved["masks"]))
    assert np.array_equal(got, np.stack([s.mask for s in expected]))
    assert png.exists()


def test_segment_command_reports_bad_prompts():
    r = _run("segment", "x.png", "--point", "1,2,3,4")
    assert r.returncode != 0 and "--point" in r.stderr


def test_serve_command_answers_on_loopback():
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "turborle", "serve", "--port", str(port),
                             "--api-key", "sk-serve-test-1234"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/assets/demo.png", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
        denied = httpx.post(f"http://127.0.0.1:{port}/v1/images/generations",
                            json={"model": "meta/sam-3-image-rle", "prompt": "x"}, timeout=5)
        assert denied.status_code == 401
        assert denied.json()["error"]["type"] == "authentication_error"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
