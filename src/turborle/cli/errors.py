"""How the command line reports what went wrong: one line on stderr and a non-zero status.

Errors a user can cause (a missing file, bad JSON, a bad flag value, malformed RLE, a missing
extra, a network failure) are reported as ``turborle COMMAND: what went wrong`` with exit
status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

# The top-level modules each extra installs (pyproject.toml's [project.optional-dependencies]).
EXTRA_MODULES: dict[str, frozenset[str]] = {
    "gateway": frozenset({"httpx", "anyio", "PIL"}),
    "server": frozenset({"httpx", "anyio", "PIL", "starlette", "uvicorn"}),
    "cli": frozenset({"ijson", "tqdm"}),
    "dataset": frozenset({"pyarrow", "ray", "orjson", "tqdm"}),
}


class CommandError(Exception):
    """A mistake in what the user asked for (a flag value, a combination of inputs)."""


def missing_extra(exc: ImportError, extra: str | None) -> str | None:
    """The message for an import that failed because ``extra`` is not installed; None when
    the missing module is not one the extra provides (then it is a real bug)."""
    name = (exc.name or "").split(".")[0]
    if extra is None or not isinstance(exc, ModuleNotFoundError) \
            or name not in EXTRA_MODULES.get(extra, ()):
        return None
    return f"needs the {extra} extra: pip install 'turborle[{extra}]' (no module named {name!r})"


def one_line(exc: BaseException) -> str:
    """What ``exc`` says, as one line."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror if exc.filename is None else f"{exc.strerror}: {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(part.strip() for part in text.splitlines() if part.strip())
