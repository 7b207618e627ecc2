"""turborle convert (and the streaming JSON reader behind it), run as a user would."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import turborle
from turborle.cli.convert import iter_json_array
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


@pytest.mark.parametrize("flags", [["--fill-holes"], ["--fill-holes", "3"], ["--remove-small", "5"],
                                   ["--fill-holes", "--remove-small", "5"]])
def test_convert_cleans_masks_like_scipy(tmp_path, masks, flags):
    ndimage = pytest.importorskip("scipy.ndimage")
    src = tmp_path / "in.json"
    src.write_text(json.dumps(turborle.encode(masks).to_coco()))
    r = _run("convert", str(src), "-", "--to", "coco", *flags)
    assert r.returncode == 0, r.stderr
    got = turborle.decode(turborle.from_coco(json.loads(r.stdout)))
    expected = masks.copy()
    for m in expected:
        if "--fill-holes" in flags:  # background regions off the border (4-connected)
            i = flags.index("--fill-holes") + 1
            limit = int(flags[i]) if i < len(flags) and flags[i].isdigit() else None
            labels, n = ndimage.label(~m)
            border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0],
                                                   labels[:, -1]])))
            sizes = np.bincount(labels.ravel(), minlength=n + 1)
            for k in range(1, n + 1):
                if k not in border and (limit is None or sizes[k] <= limit):
                    m[labels == k] = True
        if "--remove-small" in flags:
            labels, n = ndimage.label(m, structure=np.ones((3, 3)))
            sizes = np.bincount(labels.ravel(), minlength=n + 1)
            for k in range(1, n + 1):
                if sizes[k] < 5:
                    m[labels == k] = False
    assert np.array_equal(got, expected)
    assert not np.array_equal(expected, masks)  # the flags did change something


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
    items = [{"size": [2, 3], "counts": "a],b[,\"c"}, 2**63 - 1, -(2**63 - 1), -1.5e-3, "x y",
             [], {}, [1, [2, [3]]], None, True, 0]
    text = " \n[ " + ",\n ".join(json.dumps(i) for i in items) + " ] \n"
    got = list(iter_json_array(io.BytesIO(text[5:].encode()), text[:5].encode(), buf_size=block))
    assert got == items


@pytest.mark.parametrize("text", ["{}", "[1, 2", "[1 2]", "[1,, 2]", "[1, 2,]", "[1] 2", " "])
def test_streaming_reader_rejects_malformed(text):
    with pytest.raises(ValueError):
        list(iter_json_array(io.BytesIO(text[1:].encode()), text[:1].encode(), buf_size=2))


def test_streaming_reader_refuses_integers_past_64_bits():
    # No valid mask holds one (h*w is at most 2**62); the reader says so in one line.
    with pytest.raises(ValueError, match="64 bits") as info:
        list(iter_json_array(io.BytesIO(b"[1, 18446744073709551616]")))
    assert "\n" not in str(info.value)


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

    from turborle.server import ServerConfig, start_server_thread
    from turborle.server.segment import ClassicalSegmenter, PointPrompt

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


# ---- every error a user can cause: one line on stderr, exit status 2 ---------------------------

def _one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def _with_blocked_module(module, *args):
    """turborle run as if ``module`` were not installed."""
    code = (f"import sys; sys.modules[{module!r}] = None; from turborle.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


@pytest.mark.parametrize(("content", "args", "expected"), [
    (None, ["convert", "{missing}", "-", "--to", "fal"], "No such file or directory"),
    ("[1, 2", ["convert", "{file}", "-", "--to", "coco"], "not valid JSON"),
    ("{bad", ["convert", "{file}", "-", "--to", "coco"], "Expecting property name"),
    ("", ["convert", "{file}", "-", "--to", "coco"], "empty"),
    ("[]", ["convert", "{file}", "-", "--to", "fal", "--size", "big"], "HxW"),
    ("[]", ["convert", "{file}", "-"], "required: --to"),
    ('[{"size": [2, 2], "counts": "04"}, {"size": [2, 2], "counts": "0 1"}]',
     ["convert", "{file}", "-", "--to", "fal"], "mask 1"),
    ('[{"size": [2, 2], "counts": "04"}, {"size": [3, 2], "counts": "06"}]',
     ["convert", "{file}", "-", "--to", "fal"], "one size"),
    ('["1 2"]', ["convert", "{file}", "-", "--to", "coco", "--from", "fal"], "--size"),
    ('[{"size": [2, 2], "counts": 7}]', ["convert", "{file}", "-", "--to", "fal"], "counts"),
    (None, ["segment", "{missing}", "--prompt", "red"], "No such file or directory"),
    (None, ["segment", "x.png", "--box", "1,2"], "--box takes 4 numbers"),
    (None, ["segment", "http://127.0.0.1:9/x.png", "--prompt", "x", "--overlay", "o.png"],
     "--overlay needs a local image file"),
    ("not json", ["serve", "--faults", "{file}"], "Expecting value"),
    ('{"nowhere": []}', ["serve", "--faults", "{file}"], "unknown fault route"),
    (None, ["frobnicate"], "invalid choice"),
    ("[]", ["convert", "{file}", "-", "--to", "coco", "--remove-small", "-3"], "whole number"),
])
def test_user_errors_are_one_line(tmp_path, content, args, expected):
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    args = [a.format(file=path, missing=tmp_path / "missing.json") for a in args]
    line = _one_line_error(_run(*args))
    assert expected in line and line.startswith("turborle")


def test_a_bad_mask_past_the_first_chunk_is_named_by_its_place_in_the_input(tmp_path):
    from turborle.cli.convert import CHUNK

    items = [{"size": [2, 2], "counts": "04"}] * (CHUNK + 7)
    items[CHUNK + 5] = {"size": [2, 2], "counts": "0z"}
    path = tmp_path / "input.json"
    path.write_text(json.dumps(items))
    line = _one_line_error(_run("convert", str(path), "-", "--to", "fal"))
    assert f"mask {CHUNK + 5}: byte 'z' at offset 1" in line


def test_port_in_use_is_one_line():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        r = _run("serve", "--port", str(taken.getsockname()[1]))
    assert "Address already in use" in _one_line_error(r)


def test_gateway_errors_are_one_line(tmp_path):
    from importlib.resources import files

    from turborle.server import ServerConfig, start_server_thread

    image = str(files("turborle.server") / "assets" / "demo.png")
    with start_server_thread(ServerConfig(api_key="sk-the-right-key-123")) as server:
        env = {**os.environ, "FAL_KEY": "sk-a-wrong-key-4567"}
        r = subprocess.run([sys.executable, "-m", "turborle", "segment", image, "--prompt", "red",
                            "--provider", "fal", "--base-url", server.base_url],
                           capture_output=True, text=True, env=env)
    line = _one_line_error(r)
    assert "HTTP 401" in line and "invalid API key" in line
    assert "sk-a-wrong-key-4567" not in r.stdout + r.stderr


@pytest.mark.parametrize(("module", "args", "extra"), [
    ("uvicorn", ["demo"], "server"),
    ("starlette", ["serve"], "server"),
    ("httpx", ["segment", "x.png", "--prompt", "red"], "gateway"),
    ("PIL", ["segment", "{file}", "--prompt", "red"], "gateway"),
    ("ijson", ["convert", "{file}", "-", "--to", "fal"], "cli"),
    ("tqdm", ["convert", "{file}", "-", "--to", "fal"], "cli"),
])
def test_a_missing_extra_is_named(tmp_path, module, args, extra):
    path = tmp_path / "in.json"
    path.write_text("[]")
    r = _with_blocked_module(module, *[a.format(file=path) for a in args])
    line = _one_line_error(r)
    assert f"pip install 'turborle[{extra}]'" in line and repr(module) in line


def test_an_import_error_that_is_not_a_missing_extra_keeps_its_traceback():
    r = _with_blocked_module("turborle.server.segment", "demo")
    assert r.returncode == 1 and "Traceback" in r.stderr and "turborle[" not in r.stderr


def test_no_command_group_needs_an_extra_to_load():
    code = ("import sys; [sys.modules.__setitem__(m, None) for m in "
            "('httpx', 'PIL', 'anyio', 'starlette', 'uvicorn', 'ijson', 'tqdm')]; "
            "from turborle.cli import main; sys.exit(main(['info']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and "simd" in r.stdout, r.stderr


# ---- streaming: memory stays bounded by a chunk, not the file ---------------------------------

def _peak_kib(*args):
    """Peak resident memory of a fresh ``turborle`` process running ``args`` (Linux)."""
    code = ("import sys; from turborle.cli import main; assert main(sys.argv[1:]) == 0; "
            "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])")
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.rss
def test_convert_streams_with_bounded_memory(tmp_path):
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:96, :128]
    blobs = [(xx - rng.integers(20, 108)) ** 2 + (yy - rng.integers(20, 76)) ** 2
             < rng.integers(5, 20) ** 2 for _ in range(200)]
    coco = turborle.encode(np.stack(blobs)).to_coco()
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    small.write_text(json.dumps(coco * 150))  # 30,000 masks
    large.write_text(json.dumps(coco * 750))  # 150,000 masks
    grown = large.stat().st_size - small.stat().st_size
    peaks = [_peak_kib("convert", str(f), str(tmp_path / "out.json"), "--to", "fal")
             for f in (small, large)]
    assert (peaks[1] - peaks[0]) * 1024 < grown / 2  # reading it whole would take > grown
    out = json.loads((tmp_path / "out.json").read_text())
    assert len(out["rle"]) == 150_000 and out["rle"][:200] == [ref.mask_to_fal(m) for m in blobs]
