"""``turborle serve`` (the local reference server) and ``turborle demo`` (server, fetcher and
decoder end to end)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from turborle.cli.results import load_rgb, print_masks, write_overlay

DEMO_KEY = "sk-turborle-local-demo"


def register(subparsers: Any) -> None:
    """Add ``serve`` and ``demo``."""
    serve = subparsers.add_parser("serve", help="run the local reference server (both "
                                  "protocols)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--api-key", help="require this key (default: no check)")
    serve.add_argument("--rate-limit", type=int, help="requests per window per key")
    serve.add_argument("--rate-window", type=float, default=60.0, help="seconds")
    serve.add_argument("--async", dest="async_jobs", action="store_true",
                       help="answer gateway generations with 202 jobs")
    serve.add_argument("--faults", help="JSON file of scripted faults per route")
    serve.set_defaults(handler=run_serve, extra="server")
    demo = subparsers.add_parser("demo", help="local server + fetcher + decode, with an "
                                 "overlay PNG")
    demo.add_argument("--overlay", default="turborle-demo-overlay.png")
    demo.set_defaults(handler=run_demo, extra="server")


def run_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from turborle.server import ServerConfig, load_faults, run_server

    faults = {}
    if args.faults:
        with open(args.faults, encoding="utf-8") as f:
            faults = load_faults(json.load(f))
    config = ServerConfig(api_key=args.api_key, rate_limit=args.rate_limit,
                          rate_window_s=args.rate_window, gateway_async=args.async_jobs,
                          faults=faults)
    base = f"http://{args.host}:{args.port}"
    print("turborle reference server (classical segmenter on the real pixels; not SAM 3)")
    print(f"  OpenAI-compatible gateway: {base}/v1/images/generations  (OpenAI SDK "
          f"base_url={base}/v1)")
    print(f"  fal sync:  {base}/fal-ai/sam-3/image-rle    fal queue: "
          f"{base}/queue/fal-ai/sam-3/image-rle")
    print(f"  demo image: {base}/assets/demo.png")
    run_server(config, host=args.host, port=args.port)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """Local server + fetcher + decode, end to end, with an overlay to look at."""
    from importlib.resources import as_file, files

    import numpy as np

    import turborle
    from turborle.gateway import Gateway
    from turborle.server import ServerConfig, start_server_thread
    from turborle.server.segment import ClassicalSegmenter

    print(f"turborle {turborle.__version__} demo: a local SAM 3-style server (a classical "
          "segmenter, not SAM 3) and the fetcher, over HTTP on 127.0.0.1")
    with as_file(files("turborle.server") / "assets" / "demo.png") as image_path, \
            start_server_thread(ServerConfig(api_key=DEMO_KEY)) as server:
        pixels = load_rgb(str(image_path))
        print(f"server at {server.base_url}; image {image_path.name} "
              f"{pixels.shape[1]}x{pixels.shape[0]}")
        t0 = time.perf_counter()
        with Gateway(provider="aigateway", api_key=DEMO_KEY,
                     base_url=server.openai_base_url) as gw:
            seg = gw.segment(str(image_path), prompt="objects", max_masks=6)
        t1 = time.perf_counter()
        print_masks(seg, f"gateway /v1/images/generations, prompt 'objects' "
                    f"({1e3 * (t1 - t0):.0f} ms)")
        x, y = 80.0, 60.0
        with Gateway(provider="fal", api_key=DEMO_KEY, base_url=server.base_url) as fal:
            by_point = fal.segment(str(image_path), points=[(x, y, 1)])
        print_masks(by_point, f"fal /fal-ai/sam-3/image-rle, point ({x:.0f}, {y:.0f})")
        local = ClassicalSegmenter().segment(pixels, "objects", [], [], 6)
        expected = np.stack([s.mask for s in local]) if local \
            else np.zeros((0,) + pixels.shape[:2], bool)
        same = np.array_equal(seg.decode(), expected)
        print(f"fetched masks equal the segmenter's own masks bit for bit: {same}")
        write_overlay(pixels, seg, args.overlay)
    return 0 if same else 1
