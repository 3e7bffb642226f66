"""The ``waiters`` command: wait on AWS executions from a shell or a CI step.

``waiters wait`` waits and exits with how it went (0 succeeded, 1 failed,
2 usage, 3 timed out, 4 AWS refused, 130/143 on SIGINT/SIGTERM);
``waiters machines`` lists the execution types; ``waiters demo`` runs the
whole thing against an embedded simulator; ``waiters simulator`` serves
that simulator for other tools.
"""

from __future__ import annotations

import sys

# The signal handlers are this command's first act (see main): nothing is imported
# before them that they do not need, not even `typing` (14 ms, with `re`).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any
del TYPE_CHECKING

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (``waiters = "waiters.cli:main"``).

    :param argv: the arguments; ``None`` (default) reads ``sys.argv`` and means
        this call is the process: SIGINT and SIGTERM are then left ignored on
        return, so one arriving while the interpreter exits cannot kill it after
        the summary was written. Given a list, the handlers in place before the
        call are put back.
    """
    from ._signals import process_signals

    # First of all: from here to the last line, a signal is recorded and answered with
    # a summary, never the default action (see _signals).
    signals = process_signals()
    signals.install()
    from ._errors import OutputError, UsageError

    try:
        # The one boundary for bad input and unwritable output: a line, and exit 2.
        try:
            return _main(argv)
        except UsageError as exc:
            return _usage(str(exc))
        except OutputError as exc:
            return _usage(f"stdout {exc}")
    finally:
        signals.restore(ignore=argv is None)


def _main(argv: Sequence[str] | None) -> int:
    from ._args import build_parser, machine_paths, verbosity

    # Only `waiters simulator` needs the simulator's options (and its aiohttp import).
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(simulator="simulator" in words)
    try:
        args = parser.parse_checked(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse has printed
        return exc.code if isinstance(exc.code, int) else 2

    from ._console import Console
    from ._log import configure_logging

    console = Console(sys.stderr)
    configure_logging(verbosity(args), console)

    import waiters

    from ._errors import OutputError, UsageError, reading

    for path in machine_paths(args):
        # A definition error names the file and the key; anything else (a file
        # nested past the parser's depth) is named by the file.
        with reading(f"--machines: {path}"):
            try:
                waiters.load_machines(path)
            except waiters.DefinitionError as exc:
                raise UsageError(f"--machines: {exc}") from None
    if sys.stdout is None:  # started with stdout closed (`>&-`): no result could be read
        raise OutputError("is closed")

    command: str = args.command
    if command == "machines":
        return _machines_command(args)
    if command == "simulator":
        from waiters.simulator import run

        from ._signals import process_signals

        # The simulator answers signals itself (exit 0), with the handlers it had before.
        signals = process_signals()
        signals.restore()
        return 0 if signals.received else run(args)
    if command == "wait":
        return _wait_command(args, console)
    return _demo_command(args, console)


def _usage(message: str) -> int:
    import contextlib

    from ._errors import OutputError, one_line
    from ._exit import ExitCode

    # stderr gone too: the exit code is all that is left to say it.
    with contextlib.suppress(OSError, OutputError):
        _print(f"waiters: error: {one_line(message)}", sys.stderr)
    return int(ExitCode.USAGE)


def _print(text: str, stream: Any) -> None:
    """Print to *stdout*; a reader that went away is fine, output that cannot be written is not."""
    from ._errors import OutputError

    if stream is None:
        raise OutputError("is closed")
    try:
        print(text, file=stream)
        stream.flush()
    except BrokenPipeError:
        pass
    except OSError as exc:
        raise OutputError(f"cannot be written ({exc.strerror or exc})") from None


# Not named after their modules (_wait, _machines, _demo): importing a submodule
# sets the package's attribute of that name, and a second main() in the same
# process would then call the module.
def _machines_command(args: Any) -> int:
    import waiters

    from ._errors import UsageError
    from ._machines import run_machines

    try:
        text = run_machines(args.type, args.output)
    except waiters.InvalidExecution as exc:
        raise UsageError(f"TYPE: {exc}") from None
    _print(text.rstrip("\n"), sys.stdout)
    return 0


def _report(args: Any, console: Any) -> Any:
    from ._console import is_terminal
    from ._display import Report

    json_lines = args.output == "json" or (args.output == "auto" and not is_terminal(sys.stdout))
    return Report(
        json_lines=json_lines, out=sys.stdout, console=console, progress=not args.no_progress
    )


def _wait_command(args: Any, console: Any) -> int:
    from ._wait import run_wait

    report = _report(args, console)
    code = run_wait(args, report, console)
    report.raise_for_output()
    return code


def _demo_command(args: Any, console: Any) -> int:
    from ._demo import run_demo

    report = _report(args, console)
    code = run_demo(args, report)
    report.raise_for_output()
    return code
