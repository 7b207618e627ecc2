"""``turborle segment``: segment an image through a hosted SAM 3 image-rle endpoint."""

from __future__ import annotations

import argparse
import json
from typing import Any

from turborle.cli.errors import CommandError
from turborle.cli.results import load_rgb, print_masks, write_overlay


def register(subparsers: Any) -> None:
    """Add ``segment``."""
    seg = subparsers.add_parser("segment", help="segment an image through a hosted SAM 3 "
                                "image-rle endpoint")
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
    seg.set_defaults(handler=segment, extra="gateway")


def _numbers(text: str, what: str, counts: tuple[int, ...]) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise CommandError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if len(values) not in counts:
        raise CommandError(f"{what} takes {' or '.join(map(str, counts))} numbers, got {text!r}")
    return values


def segment(args: argparse.Namespace) -> int:
    """Call the endpoint, print the masks, and write what was asked for."""
    points = [_numbers(p, "--point", (2, 3)) for p in args.point]
    boxes = [tuple(_numbers(b, "--box", (4,))) for b in args.box]
    if args.overlay and "://" in args.image:
        raise CommandError("--overlay needs a local image file")
    point_prompts = [(p[0], p[1], int(p[2]) if len(p) == 3 else 1) for p in points]
    from turborle.gateway import Gateway

    with Gateway(provider=args.provider, base_url=args.base_url, queue=args.queue) as gw:
        seg = gw.segment(args.image, prompt=args.prompt, points=point_prompts or None,
                         boxes=boxes or None, max_masks=args.max_masks)
    print_masks(seg, args.image)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"height": seg.height, "width": seg.width, "request_id": seg.request_id,
                       "scores": None if seg.scores is None else seg.scores.tolist(),
                       "boxes_xyxy": seg.boxes.tolist(), "masks": seg.masks.to_coco()}, f)
        print(f"masks written to {args.out} (COCO RLE)")
    if args.overlay:
        write_overlay(load_rgb(args.image), seg, args.overlay)
    return 0
