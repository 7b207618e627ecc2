"""The mutable state of one server: faults, rate windows, credits, stored answers, counters."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Literal

from starlette.applications import Starlette

from turborle.server.answers import ApiError
from turborle.server.config import ROUTES, Family, Fault, ServerConfig
from turborle.server.segment import ClassicalSegmenter, Segmenter


@dataclass
class Job:
    id: str
    family: Family
    submitted: float          # time.monotonic()
    created: int              # unix seconds
    status: int               # HTTP status of the stored answer
    body: bytes               # the stored answer (fal: output or error body)
    error: dict[str, Any] | None = None
    output_id: str | None = None
    cancelled: bool = False


class ServerState:
    """Mutable state of one server: faults, rate windows, credits, stored answers, counters.

    Thread-safe: tests call :meth:`inject` and read :attr:`hits` from their own thread.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.segmenter: Segmenter = config.segmenter or ClassicalSegmenter()
        self.credits = config.credits
        self.hits: Counter[str] = Counter()
        """Requests seen per route name (faulted ones included)."""
        self._lock = threading.Lock()
        self._faults: dict[str, deque[Fault]] = {r: deque(config.faults.get(r, ())) for r in ROUTES}
        self._windows: dict[str, tuple[float, int]] = {}
        self.outputs: OrderedDict[str, bytes] = OrderedDict()
        self.jobs: OrderedDict[str, Job] = OrderedDict()

    def inject(self, route: str, *faults: Fault) -> None:
        """Queue ``faults`` for the next requests to ``route`` (a key of ``ROUTES``)."""
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; known: {sorted(ROUTES)}")
        with self._lock:
            self._faults[route].extend(faults)

    def next_fault(self, route: str) -> Fault | None:
        with self._lock:
            self.hits[route] += 1
            queue = self._faults[route]
            return queue.popleft() if queue else None

    def take_rate(self, key: str) -> float | None:
        """Count one request for ``key``; the seconds to wait when over the limit, else None."""
        limit = self.config.rate_limit
        if limit is None:
            return None
        now = time.monotonic()
        with self._lock:
            start, used = self._windows.get(key, (now, 0))
            if now - start >= self.config.rate_window_s:
                start, used = now, 0
            if used >= limit:
                return start + self.config.rate_window_s - now
            self._windows[key] = (start, used + 1)
            return None

    def take_credit(self) -> bool:
        with self._lock:
            if self.credits is None:
                return True
            if self.credits <= 0:
                return False
            self.credits -= 1
            return True

    def store_output(self, data: bytes) -> str:
        output_id = uuid.uuid4().hex
        with self._lock:
            self.outputs[output_id] = data
            while len(self.outputs) > self.config.max_stored:
                self.outputs.popitem(last=False)
        return output_id

    def add_job(self, job: Job) -> None:
        with self._lock:
            self.jobs[job.id] = job
            while len(self.jobs) > self.config.max_stored:
                self.jobs.popitem(last=False)

    def job(self, job_id: str, family: Family) -> Job:
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None or job.family != family:
            if family == "gateway":
                raise ApiError(404, f"job {job_id!r} not found", code="job_not_found")
            raise ApiError(404, "Request not found")
        return job

    def stage(self, job: Job) -> Literal["queued", "running", "done"]:
        if job.cancelled:
            return "done"
        elapsed = time.monotonic() - job.submitted
        if elapsed < self.config.queue_s:
            return "queued"
        if elapsed < self.config.queue_s + self.config.run_s:
            return "running"
        return "done"

    def queue_position(self, job: Job) -> int:
        with self._lock:
            jobs = list(self.jobs.values())
        return sum(1 for other in jobs if other.family == job.family
                   and other.submitted < job.submitted and self.stage(other) == "queued")


def server_state(app: Starlette) -> ServerState:
    """The :class:`ServerState` of an app made by :func:`create_app`."""
    state = getattr(app.state, "turborle", None)
    if not isinstance(state, ServerState):
        raise TypeError("not an app made by turborle.server.create_app")
    return state
