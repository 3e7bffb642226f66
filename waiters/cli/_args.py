"""The command line's grammar: subcommands, options, durations and parameters.

Every usage error goes through :class:`Parser.error`, so it reads
``waiters: error: --FLAG: what is wrong`` and exits 2, whichever subcommand
it came from.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import re
import sys
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from waiters import (
    DEFAULT_EVENT_STALENESS,
    DEFAULT_MIN_FINISHED,
    BudgetConfig,
    PollerOptions,
    SqsEvents,
    WaitOptions,
)

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = [
    "OUTPUT_CHOICES",
    "Parser",
    "build_parser",
    "deadline",
    "duration",
    "parse_assignment",
    "parse_group",
]

OUTPUT_CHOICES = ("auto", "text", "json")
#: The library's defaults, which the flags' defaults are.
_WAIT = WaitOptions()

#: An event source's defaults (it has no instance without a queue).
_EVENTS: dict[str, Any] = {option.name: option.default for option in fields(SqsEvents)}

_DURATION = re.compile(
    r"(?:(?P<d>\d+(?:\.\d+)?)d)?(?:(?P<h>\d+(?:\.\d+)?)h)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?"
)
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_NO_DEADLINE = frozenset({"none", "never", "inf"})
# A queue URL's path (Amazon SQS Developer Guide, "Queue and message identifiers"): the
# owner's 12-digit account, then the name, 1 to 80 of [A-Za-z0-9_-] (".fifo" included).
_QUEUE_PATH = re.compile(r"/\d{12}/(?:[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)/?")
# argparse names an option by all its strings ("-p/--param"); the long one is enough.
_SHORT_AND_LONG = re.compile(r"^-\w/(--[\w-]+)")

_DESCRIPTION = """\
Wait on long-running AWS executions until they end, the way a CI step needs:
a live progress display on a terminal, JSON lines in a pipeline, and an exit
code that says how it went.
"""

_EPILOG = """\
exit codes:
  0    every execution succeeded
  1    at least one ended badly (failed, cancelled, vanished, not found)
  2    usage or bad input (unknown type, bad parameter, bad duration, a bad
       --from or --machines file, region or endpoint URL), or stdout
       closed or unwritable
  3    the deadline passed first (none ended badly; the service answered)
  4    AWS refused (credentials, access denied) or never answered: calls
       were made and not one got an answer (no connection, none within
       the call timeout or the deadline, 5xx, an unintelligible body)
  5    nothing to wait on: every --all-of parent listed no execution
  130  interrupted (SIGINT);  143  terminated (SIGTERM)

examples:
  waiters demo
  waiters machines
  waiters machines iot-job-execution
  waiters machines transfer:
  waiters wait transfer:ServerOffline --param ServerId=s-0123456789abcdef0
  waiters wait iot-job-execution --param jobId=fw-42 --param thingName=pump-7 --timeout 30m
  waiters wait iot-job-execution --all-of fw-42 --output json > result.json
"""

_WAIT_EPILOG = """\
naming executions:
  --param NAME=VALUE          one execution, or (with the options below) a
                              parameter every execution shares
  --execution 'N=V,N=V'       one execution per option (repeatable)
  --from FILE|-               JSON lines, one object of parameters per line
  --all-of PARENT             every execution of an IoT job (jobId), a command
                              (commandArn), a SiteWise asset (asset id), a Snow
                              task (taskId) or a Transfer workflow (WorkflowId)

examples:
  waiters wait iot-job-execution --param jobId=fw-42 --param thingName=pump-7
  waiters wait iot-job-execution --param jobId=fw-42 \\
      --execution thingName=pump-7 --execution thingName=pump-8
  jq -c '{ExecutionId: .id, WorkflowId: .workflow}' runs.json | \\
      waiters wait transfer-execution --from -
  waiters wait iot-job-execution --all-of fw-42 --timeout 1h30m --output json
  waiters wait iot-job-execution --all-of fw-42 \\
      --events-queue https://sqs.eu-west-1.amazonaws.com/123456789012/job-events

exit codes: 0 all succeeded, 1 one ended badly, 2 usage, 3 timed out,
4 AWS refused or unreachable (credentials, access, endpoint), 5 nothing to
wait on, 130 SIGINT, 143 SIGTERM.
"""

_DEMO_EPILOG = """\
The demo needs no AWS account: an embedded simulator on 127.0.0.1 plays out an
IoT job rolled out to --things devices, plus IoT commands, SiteWise, Snow and
Transfer Family executions, with a deliberate mix of failures and a tight
request quota. It exits 0 when the demo completes, failures included.
"""


class Parser(argparse.ArgumentParser):
    """argparse with one error format: ``waiters: error: --flag: message``, exit 2."""

    def error(self, message: str) -> NoReturn:
        # argparse words type errors "argument --timeout: ..."; the flag alone reads better.
        message = _SHORT_AND_LONG.sub(r"\1", message.removeprefix("argument "))
        self.print_usage(sys.stderr)
        self.exit(2, f"waiters: error: {message}\n")

    def parse_checked(self, argv: Sequence[str] | None) -> argparse.Namespace:
        """Parse *argv*; an unknown flag is reported by its command, with what was meant."""
        args, extras = self.parse_known_args(argv)
        if not extras:
            return args
        # The command's own parser, so its usage line and its flags are the ones shown.
        target: argparse.ArgumentParser = self
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                target = action.choices.get(getattr(args, action.dest, None) or "", self)
        flags = [flag for action in target._actions for flag in action.option_strings]
        words = []
        for extra in extras:
            hint = ""
            if extra.startswith("--"):
                meant = difflib.get_close_matches(extra.split("=", 1)[0], flags, n=1, cutoff=0.7)
                if meant:
                    hint = f" (did you mean {meant[0]}?)"
            words.append(extra + hint)
        return target.error(f"unrecognized arguments: {' '.join(words)}")

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        # A closed pipe (`waiters --help | head`) is not an error worth a traceback.
        with contextlib.suppress(BrokenPipeError):
            super().print_help(file)


def duration(text: str) -> float:
    """A duration: ``90s``, ``30m``, ``2h``, ``1h30m`` or plain seconds."""
    value = _parse_duration(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (use 90s, 30m, 2h or seconds)")
    return value


def latency(text: str) -> float:
    """A latency target: a duration from a millisecond (the backoff's floor) to an hour."""
    value = duration(text)
    if not 0.001 <= value <= 3600:
        raise argparse.ArgumentTypeError(
            f"invalid latency {text!r} (at least 0.001 seconds, at most 1h; e.g. 5s)"
        )
    return value


def deadline(text: str) -> float | None:
    """A duration, or ``none`` for no deadline at all."""
    if text.strip().lower() in _NO_DEADLINE:
        return None
    value = _parse_duration(text)
    if value is None:
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r} (use 90s, 30m, 2h, seconds or none)"
        )
    return value


def moment(text: str) -> float:
    """An absolute time: ISO 8601 with a zone (``2030-01-02T03:04:05Z``) or epoch seconds."""
    cleaned = text.strip()
    try:
        seconds = float(cleaned)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"invalid time {text!r} (not a finite number)")
        return seconds
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r} (use ISO 8601 with a zone, 2030-01-02T03:04:05Z, "
            "or epoch seconds)"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: no zone; add one (Z, +02:00), or the deadline would "
            "depend on the machine's local time"
        )
    return parsed.timestamp()


class _Given(argparse.Action):
    """Store the value, and that the flag was given (``<dest>_given``): a default and
    an explicit value that equals it mean different things beside --deadline-at."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_given", True)


def _parse_duration(text: str) -> float | None:
    cleaned = text.strip().lower()
    try:
        seconds = float(cleaned)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds != float("inf") else None
    match = _DURATION.fullmatch(cleaned)
    if not cleaned or match is None:
        return None
    return sum(float(value) * _UNITS[unit] for unit, value in match.groupdict().items() if value)


def endpoint_url(text: str) -> str:
    """An http(s) URL with a host: botocore would otherwise fail only when a client opens."""
    try:
        parts = urlsplit(text)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(
            f"expected an http(s) URL such as http://127.0.0.1:4566, got {text!r}"
        )
    return text


def queue_url(text: str) -> str:
    """An SQS queue URL, ``http(s)://HOST/ACCOUNT/NAME``: a queue's ARN or name is not one,
    and SQS would only say so once the wait has begun."""
    if text.startswith("arn:"):
        raise argparse.ArgumentTypeError(
            f"expected the queue's URL, not its ARN: {text!r} (a URL reads "
            "https://sqs.REGION.amazonaws.com/ACCOUNT/NAME; "
            "`aws sqs get-queue-url --queue-name NAME` prints it)"
        )
    try:
        parts = urlsplit(text)
        ok = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not parts.query
            and not parts.fragment
            and _QUEUE_PATH.fullmatch(parts.path) is not None
        )
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(
            f"expected a queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/"
            f"events (a 12-digit account, then the queue's name), got {text!r}"
        )
    return text


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _state_list(text: str) -> frozenset[str]:
    states = frozenset(part.strip() for part in text.split(",") if part.strip())
    if not states:
        raise argparse.ArgumentTypeError(f"expected STATE[,STATE...], got {text!r}")
    return states


def fail_fast(text: str) -> tuple[str, float]:
    """``5`` (stop after five failures) or ``10%`` (after a tenth of those finished failed)."""
    cleaned = text.strip()
    try:
        if cleaned.endswith("%"):
            fraction = float(cleaned[:-1]) / 100
            if 0 < fraction <= 1:
                return "fraction", fraction
        else:
            count = int(cleaned)
            if count >= 1:
                return "count", float(count)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(
        f"expected a count of failures (5) or a percentage (10%), got {text!r}"
    )


def parse_assignment(text: str) -> tuple[str, str]:
    """``NAME=VALUE``; the value may itself contain '='."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def parse_group(text: str) -> dict[str, str]:
    """``NAME=VALUE,NAME=VALUE``: the parameters of one execution."""
    params: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, value = parse_assignment(part)
        if name in params:
            raise argparse.ArgumentTypeError(f"{name!r} is given twice in {text!r}")
        params[name] = value
    if not params:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE[,NAME=VALUE...], got {text!r}")
    return params


def _version() -> str:
    try:
        return metadata.version("waiters")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def _common() -> Parser:
    """Options accepted before and after the subcommand (``waiters -v wait`` = ``wait -v``)."""
    common = Parser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="log more to stderr: -v info, -vv debug (one line per poll)",
    )
    common.add_argument(
        "--machines",
        metavar="PATH",
        action="append",
        default=argparse.SUPPRESS,
        help="load execution type definitions (a .toml/.json file or a directory) first; "
        "repeatable",
    )
    return common


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        choices=OUTPUT_CHOICES,
        default="auto",
        help="text (live progress and a summary table) or json (JSON lines on stdout); "
        "auto picks text when stdout is a terminal (default: auto)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no live progress display on stderr, even on a terminal",
    )


def _add_aws(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS")
    group.add_argument("--region", help="AWS region (default: from the profile or environment)")
    group.add_argument("--profile", help="named profile from the AWS config files")
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        type=endpoint_url,
        help="send every call to URL (a simulator, LocalStack, a VPC endpoint); "
        "endpoint host prefixes are not added",
    )


def _add_polling(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("polling")
    group.add_argument(
        "--timeout",
        type=deadline,
        action=_Given,
        default=_WAIT.timeout,
        metavar="DURATION",
        help="give up on executions still running after this long: 90s, 30m, 2h, 1h30m, "
        "seconds, or none (default: 1h)",
    )
    group.add_argument(
        "--min-delay",
        type=duration,
        default=_WAIT.backoff.min_delay,
        metavar="DURATION",
        help="shortest pause between two polls of one execution (default: 1s)",
    )
    group.add_argument(
        "--max-delay",
        type=duration,
        default=_WAIT.backoff.max_delay,
        metavar="DURATION",
        help="longest pause between two polls of one execution (default: 30s)",
    )
    group.add_argument(
        "--not-found-grace",
        type=duration,
        default=_WAIT.not_found_grace,
        metavar="DURATION",
        help="how long 'not found' may mean 'not visible yet' (default: 10s)",
    )
    group.add_argument(
        "--max-rate",
        type=positive_float,
        default=BudgetConfig().max_rate,
        metavar="CALLS",
        help="at most this many calls per second per operation; throttling lowers it (default: 50)",
    )
    group.add_argument(
        "--concurrency",
        type=positive_int,
        default=PollerOptions().concurrency,
        metavar="N",
        help="calls in flight at once per service (default: 10)",
    )
    group.add_argument(
        "--latency",
        type=latency,
        default=None,
        metavar="DURATION",
        help="see each ending within this long: sweeps and polls are paced to meet it with "
        "the fewest calls, and waiters.latency_unmet is logged when the rate cannot "
        "(default: sweeps every 6s, polls by --max-delay)",
    )
    group.add_argument(
        "--failure-reasons",
        action="store_true",
        help="describe each execution a list sweep sees fail, for its reason "
        "(one call more per failure; by default it ends from the list)",
    )
    group.add_argument(
        "--fail-fast",
        type=fail_fast,
        metavar="N|P%",
        help="stop waiting after N failures, or once P%% of the finished ones failed "
        "(judged once --fail-fast-min have finished)",
    )
    group.add_argument(
        "--accept",
        action="append",
        choices=("vanished",),
        default=[],
        metavar="vanished",
        help="exit 0 for executions that ended but whose ending no source could tell "
        "(Transfer without a readable execution log); they still show as vanished",
    )
    group.add_argument(
        "--fail-fast-min",
        type=positive_int,
        default=DEFAULT_MIN_FINISHED,
        metavar="N",
        help="finished executions needed before a P%% rule is judged, like IoT's "
        f"minNumberOfExecutedThings (default: {DEFAULT_MIN_FINISHED}, or all when fewer)",
    )
    group.add_argument(
        "--fail-fast-states",
        type=_state_list,
        metavar="STATE,STATE",
        help="only failures ending in these states count toward --fail-fast "
        "(e.g. FAILED,REJECTED leaves TIMED_OUT out; default: every failure)",
    )


def _add_events(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "events",
        # The wait parser's formatter keeps descriptions as written: wrapped here.
        "Hear executions end through an SQS queue that their status-change events\n"
        "reach (an IoT rule or EventBridge routes them there), for the types with an\n"
        "[events] section (iot-job-execution, iot-command-execution). Polling stays\n"
        "on as the safety net, and at its normal cadence while the queue is not heard.",
    )
    group.add_argument(
        "--events-queue",
        metavar="URL",
        type=queue_url,
        help="the queue's URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME); "
        "messages are deleted once their events are entered",
    )
    group.add_argument(
        "--events-endpoint-url",
        metavar="URL",
        type=endpoint_url,
        action=_Given,
        help="send the queue's calls to URL (default: --endpoint-url if given, else "
        "AWS's SQS endpoint of the queue's region)",
    )
    group.add_argument(
        "--events-staleness",
        type=duration,
        action=_Given,
        default=DEFAULT_EVENT_STALENESS,
        metavar="DURATION",
        help="while the queue is heard, still observe each waiting execution this often, "
        "for an event that was lost (at least 1s; default: "
        f"{DEFAULT_EVENT_STALENESS / 60:g}m)",
    )
    group.add_argument(
        "--events-silence",
        type=deadline,
        action=_Given,
        default=_EVENTS["silence"],
        metavar="DURATION",
        help="no message for this long and the queue counts as not heard: polling returns "
        "to its normal cadence until one comes; none never judges silence (default: "
        f"{_EVENTS['silence'] / 60:g}m)",
    )
    group.add_argument(
        "--events-shared",
        action="store_true",
        help="the queue is shared with other consumers: messages about executions not "
        "waited on here are released for them rather than deleted (deleted after "
        f"{_EVENTS['release_limit']} receives; give the queue a redrive policy to keep them)",
    )


def build_parser(*, simulator: bool = True) -> Parser:
    """The whole grammar; *simulator* False skips importing the simulator (and aiohttp)
    for the simulator subcommand's options, which only ``waiters simulator`` needs."""
    common = _common()
    parser = Parser(
        prog="waiters",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"waiters {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    wait = commands.add_parser(
        "wait",
        help="wait on executions until they end",
        description="Wait on one execution, a list of them, or every execution of a parent\n"
        "(an IoT job, a command, a SiteWise asset, a Snow task, a Transfer workflow).",
        epilog=_WAIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    wait.add_argument(
        "type",
        metavar="TYPE",
        help="execution type (see `waiters machines`), or a botocore waiter as "
        "SERVICE:WaiterName (transfer:ServerOffline)",
    )
    what = wait.add_argument_group("executions")
    what.add_argument(
        "-p",
        "--param",
        metavar="NAME=VALUE",
        type=parse_assignment,
        action="append",
        default=[],
        help="a parameter of the describe call; alone, they name one execution; with "
        "--execution, --from or --all-of, every execution shares it",
    )
    what.add_argument(
        "-e",
        "--execution",
        metavar="NAME=VALUE,...",
        type=parse_group,
        action="append",
        default=[],
        help="one execution's parameters, comma-separated (repeatable)",
    )
    what.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="read executions as JSON lines from FILE ('-' for stdin), one object of "
        "parameters per line",
    )
    what.add_argument(
        "--all-of",
        metavar="PARENT",
        action="append",
        default=[],
        help="every execution of PARENT, listed through the type's list call (repeatable)",
    )
    _add_polling(wait)
    resuming = wait.add_argument_group("resuming")
    resuming.add_argument(
        "--deadline-at",
        type=moment,
        metavar="TIME",
        help="give up at this absolute time: ISO 8601 with a zone (2030-01-02T03:04:05Z) "
        "or epoch seconds; not with --timeout",
    )
    resuming.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="keep the wait's progress in FILE (replaced atomically, at most every second "
        "and on exit); run the same command again after a kill and it resumes from FILE: "
        "same deadline, outcomes already shown not shown again, states already seen kept",
    )
    _add_events(wait)
    _add_aws(wait)
    _add_output(wait)

    machines = commands.add_parser(
        "machines",
        help="list execution types, or show one's lifecycle",
        description="List the execution types waiters knows, or show one type's states, "
        "transitions and error handling.",
        parents=[common],
    )
    machines.add_argument(
        "type",
        metavar="TYPE",
        nargs="?",
        help="show this type in detail; SERVICE: lists the service's botocore waiters",
    )
    machines.add_argument(
        "--output", choices=("text", "json"), default="text", help="(default: text)"
    )

    demo = commands.add_parser(
        "demo",
        help="watch a simulated fleet: no AWS account needed",
        description="Start an embedded AWS simulator and wait on a simulated IoT job\n"
        "rollout and executions of every other type, with live progress.",
        epilog=_DEMO_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    demo.add_argument(
        "--things",
        type=positive_int,
        default=1000,
        metavar="N",
        help="devices the IoT job is rolled out to (default: 1000)",
    )
    demo.add_argument(
        "--speed",
        type=positive_float,
        default=20.0,
        metavar="X",
        help="simulated time runs X times faster than real time (default: 20)",
    )
    demo.add_argument(
        "--seed", type=int, default=7, help="seed of the simulated fleet (default: 7)"
    )
    demo.add_argument(
        "--rate",
        type=positive_float,
        default=10.0,
        metavar="CALLS",
        help="the simulator's quota: calls per second per operation before it throttles "
        "(default: 10)",
    )
    _add_output(demo)

    simulator_parser = commands.add_parser(
        "simulator",
        help="serve the AWS simulator on 127.0.0.1 (first stdout line: its URL)",
        description="Serve a simulated fleet of AWS executions to boto3 clients until "
        "SIGINT or SIGTERM. Point `waiters wait --endpoint-url` (or any boto3 client) at "
        "the URL printed on the first line.",
        parents=[common],
    )
    if simulator:
        from waiters.simulator import add_arguments

        add_arguments(simulator_parser)
    return parser


def verbosity(args: argparse.Namespace) -> int:
    return int(getattr(args, "verbose", 0) or 0)


def machine_paths(args: argparse.Namespace) -> Sequence[str]:
    paths: Sequence[str] = getattr(args, "machines", None) or ()
    return paths


def namespace_get(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    return getattr(args, name, default)
