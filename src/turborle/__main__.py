"""Command line: ``turborle info``, ``turborle example`` and ``turborle convert``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import IO, Any, cast

import numpy as np

CHUNK = 4096  # masks converted per call into the core
PROGRESS_BYTES = 2_000_000  # inputs at least this large show a progress bar (on a terminal)


def _example() -> int:
    """Encode, inspect and decode a few masks, printing what happened."""
    from turborle import mask as mask_utils

    h, w = 480, 640
    yy, xx = np.mgrid[:h, :w]
    masks = np.stack(
        [
            (xx - 200) ** 2 + (yy - 240) ** 2 < 120**2,  # a disc
            (abs(xx - 450) < 90) & (abs(yy - 200) < 150),  # a rectangle
            ((xx // 40 + yy // 40) % 2 == 0),  # a checkerboard (many runs)
        ],
        axis=-1,
    )
    masks = np.asfortranarray(masks.astype(np.uint8))
    t0 = time.perf_counter()
    rles = cast(list[mask_utils.RLE], mask_utils.encode(masks))  # 3-D input: one dict per mask
    t1 = time.perf_counter()
    back = mask_utils.decode(rles)
    t2 = time.perf_counter()
    print(f"encoded {masks.shape[2]} masks of {h}x{w} in {1e3 * (t1 - t0):.2f} ms, "
          f"decoded in {1e3 * (t2 - t1):.2f} ms; round trip exact: {np.array_equal(back, masks)}")
    areas = mask_utils.area(rles)
    boxes = mask_utils.toBbox(rles)
    for name, rle, a, b in zip(["disc", "rectangle", "checkerboard"], rles, areas, boxes):
        counts = rle["counts"]
        shown = counts if len(counts) <= 24 else counts[:24] + b"..."
        print(f"  {name:<12} area {int(a):>7}  bbox {b.tolist()}  counts {len(counts):>5} B: {shown!r}")
    ious = mask_utils.iou(rles, rles, [0, 0, 0])
    print("IoU matrix:")
    for row in ious:
        print("  " + "  ".join(f"{v:.3f}" for v in row))
    union = mask_utils.merge(rles[:2])
    print(f"union of disc and rectangle: area {int(mask_utils.area(union))}")
    return 0


def _info() -> int:
    import turborle

    for key, value in turborle.info().items():
        print(f"{key}: {value}")
    return 0


def _iter_json_array(fp: IO[str], buf: str, block: int = 1 << 20) -> Iterator[Any]:
    """Items of the top-level JSON array that starts in `buf` and continues in `fp`, decoded
    one at a time, so memory stays bounded by the largest item, not the file."""
    decoder = json.JSONDecoder()
    pos = len(buf) - len(buf.lstrip())
    if buf[pos:pos + 1] != "[":
        raise ValueError("input is not a JSON array")
    pos += 1
    expect_item, first = True, True
    while True:
        while pos < len(buf) and buf[pos] in " \t\r\n":
            pos += 1
        if pos == len(buf):
            more = fp.read(block)
            if not more:
                raise ValueError("input ends inside the JSON array")
            buf, pos = more, 0
            continue
        if buf[pos] == "]":
            if expect_item and not first:
                raise ValueError("a JSON array may not end with ','")
            return
        if not expect_item:
            if buf[pos] != ",":
                raise ValueError(f"expected ',' or ']' in the JSON array, got {buf[pos]!r}")
            pos += 1
            expect_item = True
            continue
        try:
            item, end = decoder.raw_decode(buf, pos)
            # Complete only if a delimiter follows: "-1" may be the start of "-1.5e-3".
            complete = end < len(buf) and buf[end] in " \t\r\n,]"
        except json.JSONDecodeError:
            complete = False
        if not complete:
            more = fp.read(block)
            if more:
                buf, pos = buf[pos:] + more, 0
                continue
            item, end = decoder.raw_decode(buf, pos)  # the last block: an error is real
        yield item
        buf, pos = buf[end:], 0
        expect_item, first = False, False


class _Progress:
    """A one-line progress bar on stderr for large inputs."""

    def __init__(self, total_bytes: int) -> None:
        self.total = total_bytes
        self.shown = total_bytes >= PROGRESS_BYTES and sys.stderr.isatty()
        self.masks = 0

    def update(self, masks: int, done_bytes: int) -> None:
        self.masks += masks
        if self.shown:
            frac = min(1.0, done_bytes / max(self.total, 1))
            bar = "#" * int(30 * frac)
            sys.stderr.write(f"\r[{bar:<30}] {100 * frac:5.1f}% {self.masks} masks")
            sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--size must be HxW, e.g. 480x640, got {text!r}") from None
    return h, w


def _convert(args: argparse.Namespace) -> int:
    """Convert a JSON file of masks between COCO and fal text, a chunk at a time."""
    import turborle

    size = _size(args.size)
    total = os.path.getsize(args.input) if args.input != "-" else 0
    src = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")  # noqa: SIM115
    with src if src is not sys.stdin else contextlib.nullcontext(src):  # never close stdin
        head = src.read(1 << 16)
        stripped = head.lstrip()
        rest: Iterator[Any]
        meta: dict[str, Any] = {}
        if stripped.startswith("["):
            rest = _iter_json_array(src, head)
        else:
            whole = json.loads(head + src.read())
            if isinstance(whole, dict) and "rle" in whole:  # a fal response / our fal output
                meta = whole
                rle = whole["rle"]
                rest = iter(rle if isinstance(rle, list) else [rle])
            else:
                rest = iter([whole])
        if meta and args.from_ == "auto":
            args.from_ = "fal"  # a fal response holds fal text, even an empty mask's ""
        if size is None and "height" in meta and "width" in meta:
            size = (int(meta["height"]), int(meta["width"]))
        # A file is written under a temporary name and renamed at the end, so a failed
        # conversion never leaves a partial file in place of an existing one.
        partial = f"{args.output}.partial"
        out = sys.stdout if args.output == "-" else open(partial, "w", encoding="utf-8")  # noqa: SIM115
        progress = _Progress(total)
        written = 0
        fal_size: tuple[int, int] | None = None
        with out if out is not sys.stdout else contextlib.nullcontext(out):
            out.write("[" if args.to == "coco" else "")
            chunk: list[Any] = []

            def flush() -> None:
                nonlocal written, fal_size
                if not chunk:
                    return
                if args.from_ == "coco":
                    batch = turborle.from_coco(chunk)
                elif args.from_ == "fal":
                    if size is None:
                        raise SystemExit("fal text carries no size: pass --size HxW")
                    batch = turborle.from_fal(chunk, *size, start_base=args.start_base)
                else:
                    batch, _ = turborle.from_any(chunk, *(size or (None, None)))
                if args.to == "coco":
                    items = [json.dumps(o) for o in batch.to_coco()]
                else:
                    sizes = set(zip(batch.heights.tolist(), batch.widths.tolist()))
                    if fal_size is not None:
                        sizes.add(fal_size)
                    if len(sizes) > 1:
                        raise SystemExit("fal output needs every mask at one size; found "
                                         + ", ".join(f"{h}x{w}" for h, w in sorted(sizes)))
                    if fal_size is None and sizes:
                        fal_size = sizes.pop()
                        out.write(f'{{"height": {fal_size[0]}, "width": {fal_size[1]}, "rle": [')
                    items = [json.dumps(t) for t in batch.to_fal(args.start_base)]
                for item in items:
                    out.write((",\n" if written else "\n") + item)
                    written += 1
                progress.update(len(chunk), src.tell() if src is not sys.stdin else 0)
                chunk.clear()

            for item in rest:
                chunk.append(item)
                if len(chunk) == CHUNK:
                    flush()
            flush()
            if args.to == "coco":
                out.write("\n]\n")
            elif fal_size is None:
                out.write('{"rle": []}\n')
            else:
                out.write("\n]}\n")
        progress.close()
    if args.output != "-":
        os.replace(partial, args.output)
    print(f"converted {written} masks to {args.to}", file=sys.stderr)
    return 0


# ---- the gateway: segment, serve, demo ---------------------------------------------------------

DEMO_KEY = "sk-turborle-local-demo"


def _load_rgb(path: str) -> Any:
    """Upright RGB pixels of an image file (EXIF orientation applied, as the fetcher sends it)."""
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))


def _numbers(text: str, what: str, counts: tuple[int, ...]) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise SystemExit(f"{what} must be comma-separated numbers, got {text!r}") from None
    if len(values) not in counts:
        raise SystemExit(f"{what} takes {' or '.join(map(str, counts))} numbers, got {text!r}")
    return values


def _print_masks(seg: Any, title: str) -> None:
    import turborle

    areas = turborle.area(seg.masks)
    print(f"{title}: {len(areas)} masks at {seg.height}x{seg.width} "
          f"(sent as {seg.dialect}, request {seg.request_id or '-'})")
    print(f"  {'#':>2}  {'score':>6}  {'area':>8}  box x0, y0, x1, y1 (pixels)")
    for i, area in enumerate(areas):
        score = f"{seg.scores[i]:.3f}" if seg.scores is not None else "-"
        box = ", ".join(f"{v:.0f}" for v in seg.boxes[i])
        print(f"  {i:>2}  {score:>6}  {int(area):>8}  [{box}]")


def _write_overlay(pixels: Any, seg: Any, path: str) -> None:
    from turborle.gateway.overlay import overlay, save_png

    save_png(overlay(pixels, seg.decode(), seg.boxes.tolist()), path)
    print(f"overlay written to {path}")


def _segment_cmd(args: argparse.Namespace) -> int:
    from turborle.gateway import Gateway

    points = [_numbers(p, "--point", (2, 3)) for p in args.point]
    boxes = [_numbers(b, "--box", (4,)) for b in args.box]
    point_prompts = [(p[0], p[1], int(p[2]) if len(p) == 3 else 1) for p in points]
    with Gateway(provider=args.provider, base_url=args.base_url, queue=args.queue) as gw:
        seg = gw.segment(args.image, prompt=args.prompt, points=point_prompts or None,
                         boxes=[tuple(b) for b in boxes] or None, max_masks=args.max_masks)
    _print_masks(seg, args.image)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"height": seg.height, "width": seg.width, "request_id": seg.request_id,
                       "scores": None if seg.scores is None else seg.scores.tolist(),
                       "boxes_xyxy": seg.boxes.tolist(), "masks": seg.masks.to_coco()}, f)
        print(f"masks written to {args.out} (COCO RLE)")
    if args.overlay:
        if "://" in args.image:
            raise SystemExit("--overlay needs a local image file")
        _write_overlay(_load_rgb(args.image), seg, args.overlay)
    return 0


def _server_config(args: argparse.Namespace) -> Any:
    from turborle.server import ServerConfig, load_faults

    faults = {}
    if args.faults:
        with open(args.faults, encoding="utf-8") as f:
            faults = load_faults(json.load(f))
    return ServerConfig(api_key=args.api_key, rate_limit=args.rate_limit,
                        rate_window_s=args.rate_window, gateway_async=args.async_jobs,
                        faults=faults)


def _serve_cmd(args: argparse.Namespace) -> int:
    from turborle.server import run_server

    base = f"http://{args.host}:{args.port}"
    print("turborle reference server (classical segmenter on the real pixels; not SAM 3)")
    print(f"  OpenAI-compatible gateway: {base}/v1/images/generations  (OpenAI SDK base_url={base}/v1)")
    print(f"  fal sync:  {base}/fal-ai/sam-3/image-rle    fal queue: {base}/queue/fal-ai/sam-3/image-rle")
    print(f"  demo image: {base}/assets/demo.png")
    run_server(_server_config(args), host=args.host, port=args.port)
    return 0


def _demo_cmd(args: argparse.Namespace) -> int:
    """Local server + fetcher + decode, end to end, with an overlay to look at."""
    from importlib.resources import as_file, files

    import turborle
    from turborle.gateway import Gateway
    from turborle.server.segment import ClassicalSegmenter
    from turborle.server import ServerConfig, start_server_thread

    print(f"turborle {turborle.__version__} demo: a local SAM 3-style server (a classical "
          "segmenter, not SAM 3) and the fetcher, over HTTP on 127.0.0.1")
    with as_file(files("turborle.server") / "assets" / "demo.png") as image_path, \
            start_server_thread(ServerConfig(api_key=DEMO_KEY)) as server:
        pixels = _load_rgb(str(image_path))
        print(f"server at {server.base_url}; image {image_path.name} {pixels.shape[1]}x{pixels.shape[0]}")
        t0 = time.perf_counter()
        with Gateway(provider="aigateway", api_key=DEMO_KEY, base_url=server.openai_base_url) as gw:
            seg = gw.segment(str(image_path), prompt="objects", max_masks=6)
        t1 = time.perf_counter()
        _print_masks(seg, f"gateway /v1/images/generations, prompt 'objects' ({1e3 * (t1 - t0):.0f} ms)")
        x, y = 80.0, 60.0
        with Gateway(provider="fal", api_key=DEMO_KEY, base_url=server.base_url) as fal:
            by_point = fal.segment(str(image_path), points=[(x, y, 1)])
        _print_masks(by_point, f"fal /fal-ai/sam-3/image-rle, point ({x:.0f}, {y:.0f})")
        local = ClassicalSegmenter().segment(pixels, "objects", [], [], 6)
        expected = np.stack([s.mask for s in local]) if local else np.zeros((0,) + pixels.shape[:2], bool)
        same = np.array_equal(seg.decode(), expected)
        print(f"fetched masks equal the segmenter's own masks bit for bit: {same}")
        _write_overlay(pixels, seg, args.overlay)
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="turborle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="version, SIMD level, threads, CUDA")
    sub.add_parser("example", help="encode and decode a few masks and print what happened")
    conv = sub.add_parser("convert", help="convert a JSON file of masks between COCO and fal text")
    conv.add_argument("input", help="JSON file ('-' for stdin): a list of COCO dicts or fal "
                      "strings, or a fal response {'rle': [...]}")
    conv.add_argument("output", help="JSON file to write ('-' for stdout)")
    conv.add_argument("--to", choices=["coco", "fal"], required=True)
    conv.add_argument("--from", dest="from_", choices=["auto", "coco", "fal"], default="auto")
    conv.add_argument("--size", help="HxW of the image, needed to read fal text")
    conv.add_argument("--start-base", type=int, choices=[0, 1], default=1,
                      help="index of the first pixel in fal text (default 1)")
    seg = sub.add_parser("segment", help="segment an image through a hosted SAM 3 image-rle endpoint")
    seg.add_argument("image", help="image file or URL")
    seg.add_argument("--prompt", help="text prompt (the concept to segment)")
    seg.add_argument("--point", action="append", default=[], metavar="X,Y[,LABEL]",
                     help="point prompt in pixels; label 1 (default) foreground, 0 background")
    seg.add_argument("--box", action="append", default=[], metavar="X0,Y0,X1,Y1",
                     help="box prompt in pixels")
    seg.add_argument("--max-masks", type=int)
    seg.add_argument("--provider", choices=["aigateway", "fal"], default="aigateway")
    seg.add_argument("--base-url", help="provider base URL (default: the provider's own)")
    seg.add_argument("--queue", action="store_true", help="fal: use the queue")
    seg.add_argument("--out", help="write the masks (COCO RLE), scores and boxes as JSON")
    seg.add_argument("--overlay", help="write the image with the masks drawn over it (PNG)")
    serve = sub.add_parser("serve", help="run the local reference server (both protocols)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--api-key", help="require this key (default: no check)")
    serve.add_argument("--rate-limit", type=int, help="requests per window per key")
    serve.add_argument("--rate-window", type=float, default=60.0, help="seconds")
    serve.add_argument("--async", dest="async_jobs", action="store_true",
                       help="answer gateway generations with 202 jobs")
    serve.add_argument("--faults", help="JSON file of scripted faults per route")
    demo = sub.add_parser("demo", help="local server + fetcher + decode, with an overlay PNG")
    demo.add_argument("--overlay", default="turborle-demo-overlay.png")
    args = parser.parse_args(argv)
    if args.command == "info":
        return _info()
    if args.command in ("segment", "serve", "demo"):
        handler = {"segment": _segment_cmd, "serve": _serve_cmd, "demo": _demo_cmd}[args.command]
        try:
            return handler(args)
        except ImportError as e:
            print(f"turborle {args.command}: needs the gateway extra "
                  f"(pip install 'turborle[gateway]'): {e}", file=sys.stderr)
            return 2
    if args.command == "convert":
        try:
            return _convert(args)
        except (ValueError, TypeError, OSError, SystemExit) as e:
            if args.output != "-":
                try:
                    os.remove(f"{args.output}.partial")
                except OSError:
                    pass
            print(f"turborle convert: {e}", file=sys.stderr)
            return 2
    return _example()


if __name__ == "__main__":
    sys.exit(main())
