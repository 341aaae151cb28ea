"""The `explorer` command: no arguments opens the window; subcommands run headless.

Every command is an adapter over core: it opens a Model with `open_model`, builds a RunSpec and
calls the same core functions as the window. The project's errors (ExplorerError) and OSError on
the user's files become one line on stderr and exit status 2; anything else is a bug and keeps
its traceback. Each group of commands is a module with its `add_commands(sub)`.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings

from explorer import __version__
from explorer.cli import analysis, fields, show, train
from explorer.cli.arguments import Parser
from explorer.core.files.io import close_progress_bars, printable


class _Warnings(logging.Handler):
    """The core's warnings (logger "explorer": an optional cache left alone, ...) as lines on the
    stderr of the moment."""

    def emit(self, record: logging.LogRecord) -> None:
        print(printable(record.getMessage()), file=sys.stderr)


_LOG = logging.getLogger("explorer")
if not any(isinstance(h, _Warnings) for h in _LOG.handlers):
    _LOG.addHandler(_Warnings(logging.WARNING))


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="explorer", description="Watch generative models build images and fields. "
                                "Without a command, opens the window.")
    p.add_argument("--version", action="version", version=f"explorer {__version__}")
    sub = p.add_subparsers(dest="command")
    for group in (show, train, fields, analysis):
        group.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from explorer.core.errors import ExplorerError

    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args.func = show.cmd_gui
    try:
        with warnings.catch_warnings():
            # numpy's "invalid value encountered ..." on a NaN or infinite intermediate: explorer checks its
            # results for such values itself and says what is wrong in one line; not lines of noise before it
            warnings.filterwarnings("ignore", r"(invalid value|divide by zero|overflow) encountered", RuntimeWarning)
            code = args.func(args)
        sys.stdout.flush()               # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:              # `explorer info | head`: the reader has gone, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except ExplorerError as e:
        return _fail(str(e))
    except OSError as e:                 # the user's own files: permissions, a full disk, ...
        return _fail((f"{e.filename}: " if e.filename else "") + str(e.strerror or e))
    except KeyboardInterrupt:
        close_progress_bars()
        print("explorer: interrupted", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    """One line on stderr (after ending any progress bar's line), exit status 2."""
    close_progress_bars()
    print(f"explorer: error: {printable(message).replace(chr(10), ' ')}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
