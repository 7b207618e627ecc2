r"""What the reference server is told: :class:`ServerConfig`, and the scripted :class:`Fault`\ s
of its routes (``ROUTES``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from turborle.server.segment import Segmenter

Family = Literal["gateway", "fal"]

ROUTES: dict[str, Family] = {
    "gateway.generate": "gateway",   # POST /v1/images/generations
    "gateway.job": "gateway",        # GET /v1/jobs/{id}
    "gateway.output": "gateway",     # GET /v1/outputs/{id}
    "fal.run": "fal",                # POST /fal-ai/sam-3/image-rle
    "fal.submit": "fal",             # POST /queue/fal-ai/sam-3/image-rle
    "fal.status": "fal",             # GET /queue/fal-ai/sam-3/requests/{id}/status
    "fal.result": "fal",             # GET /queue/fal-ai/sam-3/requests/{id}
    "fal.cancel": "fal",             # PUT /queue/fal-ai/sam-3/requests/{id}/cancel
}
"""Route names for fault injection, with the protocol family of their error bodies."""

NO_MASKS = "No masks generated"
MAX_MASKS_LIMIT = 32

@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, consumed by the next request to its route.

    Parameters
    ----------
    status : int or None
        Answer with this status and the route's protocol error body (``message`` or a
        default text) instead of doing the work; ``None``: do the work normally.
    delay_s : float
        Sleep this long before answering (to trip client deadlines).
    truncate_after : int or None
        Send only the first ``truncate_after`` bytes of the body.
    full_length_header : bool
        With ``truncate_after``: ``True`` declares the full ``Content-Length`` and closes the
        connection mid-body (the client sees a broken transfer); ``False`` declares the cut
        length (a complete HTTP answer whose JSON is cut short).
    retry_after : str or None
        ``Retry-After`` header to send (a 429 fault sends ``"1"`` when this is ``None``).
    headers : mapping
        Extra headers (e.g. ``{"X-Fal-Request-Timeout-Type": "user"}``).
    message : str or None
        Error message for ``status``.
    error_type : str or None
        fal ``error_type`` (default by status: 408/504 ``request_timeout``, 500/502
        ``runner_server_error``, 503 ``runner_unavailable``) or gateway ``type`` override.
    """

    status: int | None = None
    delay_s: float = 0.0
    truncate_after: int | None = None
    full_length_header: bool = True
    retry_after: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None
    error_type: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"Fault.status must be an HTTP status, got {self.status}")
        if not 0.0 <= self.delay_s <= 600.0:
            raise ValueError(f"Fault.delay_s must be in [0, 600], got {self.delay_s}")
        if self.truncate_after is not None and self.truncate_after < 0:
            raise ValueError(f"Fault.truncate_after must be >= 0, got {self.truncate_after}")


_FAULT_FIELDS = {"status", "delay_s", "truncate_after", "full_length_header", "retry_after",
                 "headers", "message", "error_type"}


def load_faults(obj: Any) -> dict[str, list[Fault]]:
    """Faults from JSON-like data: ``{"fal.run": [{"status": 503, "retry_after": "2"}, ...]}``.

    For a command line's ``--faults FILE``; keys are route names (``ROUTES``), values lists of
    :class:`Fault` fields. Raises ``ValueError`` naming the bad route, entry or field.
    """
    if not isinstance(obj, Mapping):
        raise ValueError("faults must be an object mapping route names to lists of faults")
    out: dict[str, list[Fault]] = {}
    for route, entries in obj.items():
        if route not in ROUTES:
            raise ValueError(f"unknown fault route {route!r}; known: {sorted(ROUTES)}")
        if not isinstance(entries, list):
            raise ValueError(f"faults[{route!r}] must be a list")
        out[route] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or set(entry) - _FAULT_FIELDS:
                raise ValueError(f"faults[{route!r}][{i}] must be an object with fields from "
                                 f"{sorted(_FAULT_FIELDS)}")
            try:
                out[route].append(Fault(**entry))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"faults[{route!r}][{i}]: {exc}") from None
    return out


@dataclass
class ServerConfig:
    """Settings of the reference server (every field has a working default).

    Parameters
    ----------
    api_key : str or None
        Required key (``Bearer`` on the gateway, ``Key`` on fal); ``None``: no check.
    rate_limit : int or None
        Requests per ``rate_window_s`` per key on the work routes (generate, fal sync, fal
        submit); over it: 429 with ``Retry-After`` (seconds until the window ends, rounded
        up). ``None``: unlimited. Status and result polls are not counted.
    rate_window_s : float
        Length of the fixed rate-limit window.
    credits : int or None
        Work requests (that pass validation) allowed in all, then 402
        ``insufficient_credits``. ``None``: unlimited.
    faults : mapping of route name (see ``ROUTES``) to a list of :class:`Fault`
        Scripted answers, consumed in order by that route's next requests (more can be added
        while running with ``ServerState.inject``).
    queue_s, run_s : float
        How long a queued fal request or gateway job stays ``IN_QUEUE`` / ``queued`` and then
        ``IN_PROGRESS`` / ``in_progress`` (the work itself is done at submission).
    gateway_async : bool
        Answer every gateway generation with a 202 job.
    max_body_bytes : int
        Largest request body (413 above it).
    max_image_pixels : int
        Largest decoded image (height x width).
    max_prompts : int
        Largest number of point prompts and of box prompts.
    model : str
        The gateway model id (others: 404 ``not_found``).
    fal_app : str
        The fal application path (``fal-ai/sam-3``); its endpoint is ``{fal_app}/image-rle``.
    segmenter : Segmenter or None
        The backend; ``None``: ``ClassicalSegmenter()``.
    public_base_url : str or None
        Base of the URLs the server hands out (``url``, ``file_url``, ``status_url``...);
        ``None``: taken from each request's ``Host``.
    max_stored : int
        Outputs, jobs and queued requests kept in memory (oldest dropped first).
    apply_exif_orientation : bool
        Rotate images by their EXIF orientation before segmenting (off: masks follow the
        stored pixel grid).
    """

    api_key: str | None = None
    rate_limit: int | None = None
    rate_window_s: float = 60.0
    credits: int | None = None
    faults: Mapping[str, Sequence[Fault]] = field(default_factory=dict)
    queue_s: float = 0.0
    run_s: float = 0.0
    gateway_async: bool = False
    max_body_bytes: int = 16 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096
    max_prompts: int = 64
    model: str = "meta/sam-3-image-rle"
    fal_app: str = "fal-ai/sam-3"
    segmenter: Segmenter | None = None
    public_base_url: str | None = None
    max_stored: int = 1024
    apply_exif_orientation: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(set(self.faults) - set(ROUTES))
        if unknown:
            raise ValueError(f"unknown fault routes {unknown}; known: {sorted(ROUTES)}")
        if self.rate_limit is not None and self.rate_limit < 0:
            raise ValueError(f"rate_limit must be >= 0, got {self.rate_limit}")
        if self.rate_window_s <= 0:
            raise ValueError(f"rate_window_s must be > 0, got {self.rate_window_s}")
        if self.queue_s < 0 or self.run_s < 0:
            raise ValueError("queue_s and run_s must be >= 0")
        if self.max_body_bytes <= 0 or self.max_image_pixels <= 0 or self.max_stored <= 0:
            raise ValueError("max_body_bytes, max_image_pixels and max_stored must be > 0")
