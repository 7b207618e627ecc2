"""The ``turborle`` command: argparse sub-commands, one module per command group.

============  =============================================  ==================
group         commands                                       extra needed
============  =============================================  ==================
``info``      ``info``, ``example``                          none
``convert``   ``convert`` (COCO <-> fal JSON, streamed)      ``cli``
``segment``   ``segment`` (call a hosted endpoint)           ``gateway``
``server``    ``serve``, ``demo`` (the local server)         ``server``
``dataset``   ``dataset import``, ``dataset export``         ``dataset``
============  =============================================  ==================

Adding a group: a module with ``register(subparsers) -> None`` that adds its parser(s) with
``subparsers.add_parser`` and sets ``handler`` (``Namespace -> int``, the exit status) and
``extra`` (the extra its imports need, or None) with ``set_defaults``; then list it in
``GROUPS``. A group imports its dependencies inside its handlers, so that ``turborle --help``
and the other groups work without them. A handler raises :class:`~turborle.cli.errors.
CommandError`, ``ValueError``, ``TypeError``, ``OSError`` or a gateway error for what the user
got wrong; :func:`main` prints it as one line (see :mod:`turborle.cli.errors`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from turborle.cli import convert, dataset, info, segment, server
from turborle.cli.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    CommandError,
    missing_extra,
    one_line,
)

__all__ = ["GROUPS", "main"]

GROUPS = (info, convert, segment, server, dataset)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def _user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that report a user's mistake rather than a bug."""
    errors: tuple[type[BaseException], ...] = (CommandError, ValueError, TypeError, OSError)
    gateway = sys.modules.get("turborle.gateway.errors")  # only loaded by commands that use it
    return errors + ((gateway.GatewayError,) if gateway is not None else ())


def main(argv: list[str] | None = None) -> int:
    """Run ``turborle`` with ``argv`` (default: the process's arguments); the exit status."""
    parser = _Parser(prog="turborle", description="Fast, safe COCO run-length encoding of "
                     "segmentation masks: the command line.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(subparsers)
    args = parser.parse_args(argv)
    prog = f"turborle {args.command}"
    try:
        status: int = args.handler(args)
        return status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`turborle info | head -1`): say nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return EXIT_ERROR
    except ImportError as exc:
        message = missing_extra(exc, args.extra)
        if message is None:
            raise
        print(f"{prog}: {message}", file=sys.stderr)
        return EXIT_ERROR
    except _user_errors() as exc:
        print(f"{prog}: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
