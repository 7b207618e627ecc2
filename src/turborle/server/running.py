"""Running the reference server: in the foreground (``turborle serve``) or in a background
thread (tests, ``turborle demo``)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from turborle.server.app import create_app
from turborle.server.config import ServerConfig
from turborle.server.inputs import is_loopback
from turborle.server.state import ServerState, server_state


def _check_host(host: str, config: ServerConfig) -> None:
    if not is_loopback(host) and config.api_key is None:
        raise ValueError(f"refusing to serve on {host!r} without an API key: the reference "
                         "server is meant for 127.0.0.1 (set ServerConfig.api_key to expose it)")


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket (bound here, so that a port in use raises ``OSError`` at once)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def run_server(config: ServerConfig | None = None, host: str = "127.0.0.1", port: int = 8000,
               log_level: str = "info") -> None:
    """Serve until interrupted (blocking; what ``turborle serve`` runs).

    Raises ``OSError`` when ``host:port`` cannot be bound (a port in use, for example).
    """
    config = config or ServerConfig()
    _check_host(host, config)
    with _listen(host, port) as sock:
        server = uvicorn.Server(uvicorn.Config(create_app(config), log_level=log_level,
                                               ws="none", lifespan="off"))
        server.run(sockets=[sock])


@dataclass
class RunningServer:
    """A server running in a background thread (from :func:`start_server_thread`)."""

    base_url: str
    """``http://127.0.0.1:<port>``, no trailing slash."""
    state: ServerState
    app: Starlette
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def openai_base_url(self) -> str:
        """``{base_url}/v1``: the ``base_url`` of an OpenAI SDK client."""
        return f"{self.base_url}/v1"

    @property
    def fal_queue_url(self) -> str:
        """``{base_url}/queue``: the local stand-in for ``https://queue.fal.run``."""
        return f"{self.base_url}/queue"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and join the thread (idempotent)."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server_thread(config: ServerConfig | None = None, host: str = "127.0.0.1",
                        port: int = 0, startup_timeout: float = 10.0,
                        log_level: str = "critical") -> RunningServer:
    """Start the server in a daemon thread; ``port=0`` picks a free port.

    Returns a :class:`RunningServer` (``base_url``, ``state``, ``stop()``; also a context
    manager). For tests: ``with start_server_thread(ServerConfig(api_key="k")) as srv: ...``.
    """
    config = config or ServerConfig()
    _check_host(host, config)
    app = create_app(config)
    sock = _listen(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False,
                                           ws="none", lifespan="off", http="h11",
                                           timeout_graceful_shutdown=2))

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

    thread = threading.Thread(target=serve, name=f"turborle-serve-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5.0)
            raise RuntimeError(f"the reference server did not start within {startup_timeout} s")
        time.sleep(0.01)
    shown = f"[{host}]" if ":" in host else host
    return RunningServer(f"http://{shown}:{bound_port}", server_state(app), app, server, thread)
