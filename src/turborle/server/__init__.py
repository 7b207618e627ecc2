"""Local reference server for the hosted SAM 3 "image-rle" protocols (``turborle serve``).

Needs the ``server`` extra (``pip install 'turborle[server]'``: starlette and uvicorn, with the
client's httpx and Pillow). The client, :mod:`turborle.gateway`, never imports it.

It speaks both protocols a fetcher meets, with their schemas, status codes and error bodies,
on 127.0.0.1, and segments with a pluggable :class:`~turborle.server.segment.Segmenter`
(by default :class:`~turborle.server.segment.ClassicalSegmenter`, a deterministic colour
segmenter: **not SAM 3**; every answer names it in an ``x-turborle-segmenter`` header).

Routes (``{base}`` is ``http://127.0.0.1:<port>``)
------------------------------------------------
OpenAI-compatible gateway (``Authorization: Bearer <key>``; errors
``{"error": {"message", "type", "code", "param"}}``):

- ``POST {base}/v1/images/generations`` with ``model`` (``"meta/sam-3-image-rle"``), ``prompt``,
  ``n`` (1), ``size`` (ignored: masks come at the image's size), ``response_format``
  (``"url"``, the default, or ``"b64_json"``), ``image_url`` and the fal fields below. Answers
  ``{"created", "data": [{"b64_json": base64(fal JSON)} | {"url": "{base}/v1/outputs/<id>"}]}``.
  With the header ``Prefer: respond-async``, the body field ``"async": true`` or
  ``ServerConfig.gateway_async`` it answers ``202 {"id", "object": "job", "status": "queued",
  "created", "model"}`` instead (the image is then decoded with the job: its errors, and "No
  masks generated", fail the job rather than the request).
- ``GET {base}/v1/jobs/{id}``: the job; ``status`` goes ``queued`` -> ``in_progress`` ->
  ``succeeded`` (with ``result: {"file_url", "content_type"}``) or ``failed`` (with ``error``).
- ``GET {base}/v1/outputs/{id}``: the fal-style JSON behind a ``url`` or ``file_url`` (no auth).
- When nothing matches: ``422 {"error": {"message": "No masks generated", "type":
  "invalid_request_error", "code": "no_masks_generated"}}`` (a failed job carries the same).

fal (``Authorization: Key <key>``; errors ``{"detail": str | [{loc, msg, type}]}``, plus
``error_type`` for infrastructure errors; answers carry ``x-fal-request-id``):

- sync: ``POST {base}/fal-ai/sam-3/image-rle``: the output, or ``422 {"detail": "No masks
  generated"}``.
- queue (the ``queue.fal.run`` host is the path prefix ``/queue``: a client's queue base URL
  is ``{base}/queue``, ``RunningServer.fal_queue_url``):
  ``POST {base}/queue/fal-ai/sam-3/image-rle`` -> ``{request_id, status_url, response_url,
  cancel_url, queue_position}``; ``GET {base}/queue/fal-ai/sam-3/requests/{id}/status`` ->
  ``{"status": "IN_QUEUE", "queue_position"}`` | ``{"status": "IN_PROGRESS"}`` |
  ``{"status": "COMPLETED", "error"?, "error_type"?}``; ``GET .../requests/{id}`` -> the stored
  answer (its status code and body; 400 while not completed); ``PUT .../requests/{id}/cancel``
  -> ``202 {"status": "CANCELLATION_REQUESTED"}`` or ``400 {"status": "ALREADY_COMPLETED"}``.
  The same paths under ``/queue/fal-ai/sam-3/image-rle/requests/...`` answer 405, as fal does.

fal input: ``image_url`` (a ``data:`` URI with base64 data, or this server's
``/assets/<name>`` URL; the server fetches nothing from the network), ``prompt`` (``"wheel"``
when the field is missing, as fal), ``point_prompts`` ``[{x, y, label}]``, ``box_prompts``
``[{x_min, y_min, x_max, y_max}]`` (pixels), ``return_multiple_masks``, ``max_masks`` (1..32,
default 3, used only with ``return_multiple_masks``), ``include_scores``, ``include_boxes``.
Output: ``rle`` (fal / Kaggle text, row-major, 1-based; a string for one mask, a list with
``return_multiple_masks``), ``metadata`` ``[{index, score, box}]`` always, ``scores`` and
``boxes`` (normalised ``[cx, cy, w, h]``) when asked for.

Also ``GET {base}/`` (what this server is) and ``GET {base}/assets/demo.png`` (the bundled
320x240 test image).

Checks, in order: fault injection (:class:`Fault`), API key (401), per-key rate limit (429 +
``Retry-After``), body size (413) and JSON, model (404), credits (402), fields (400 gateway /
422 fal), image decoding (400 / 422).

Modules: :mod:`~turborle.server.config` (settings and faults), :mod:`~turborle.server.state`,
:mod:`~turborle.server.inputs` (request bodies and images), :mod:`~turborle.server.handlers`
(the routes of both protocols), :mod:`~turborle.server.answers` (error bodies),
:mod:`~turborle.server.app` (the Starlette app), :mod:`~turborle.server.running` (foreground or
background thread) and :mod:`~turborle.server.segment` (the segmentation backends).
"""

from __future__ import annotations

from turborle.server.app import create_app
from turborle.server.config import ROUTES, Fault, ServerConfig, load_faults
from turborle.server.inputs import asset_bytes
from turborle.server.running import RunningServer, run_server, start_server_thread
from turborle.server.state import ServerState, server_state

__all__ = [
    "ROUTES",
    "Fault",
    "RunningServer",
    "ServerConfig",
    "ServerState",
    "asset_bytes",
    "create_app",
    "load_faults",
    "run_server",
    "server_state",
    "start_server_thread",
]
