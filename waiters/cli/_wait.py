"""``waiters wait``: name executions, wait on them, exit with how they ended.

Executions come from four places that combine freely: ``--param`` alone (one
execution), ``--execution`` groups, ``--from`` JSON lines, and ``--all-of``
parents, listed through the type's list call (its ``batch`` section). With
any of the last three, ``--param`` values are shared by every execution.
Everything that can be checked before a call is checked first and reported
as a usage error (exit 2) naming where the bad value came from.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO, cast

import anyio
import structlog
from botocore.exceptions import ParamValidationError

from waiters import (
    POLL_RETRY_CONFIG,
    Backoff,
    BudgetConfig,
    BudgetRegistry,
    Execution,
    ExecutionNotFound,
    FailFast,
    InvalidExecution,
    InvalidOption,
    Poller,
    PollerOptions,
    ServiceError,
    StateMachine,
    WaitOptions,
    WaitTimeout,
    default_registry,
)

from ._checkpoint import CheckpointFile, executions_of
from ._console import Console
from ._display import Report, Summary
from ._errors import UsageError, one_line, reading
from ._events import check_queue, event_source, queue_client_kwargs, with_client
from ._exit import ExitCode
from ._run import (
    Interrupts,
    RunOptions,
    cancelled_early,
    never_answered,
    open_clients,
    run_interruptible,
    wait_and_report,
)
from ._signals import Interrupted, process_signals

__all__ = ["UsageError", "run_wait"]

_log = structlog.get_logger("waiters.cli")


class ListingFailed(Exception):
    """A parent could not be listed; carries the exit code that says why."""

    def __init__(self, message: str, code: ExitCode, stats: Any = None) -> None:
        super().__init__(message)
        self.code = code
        #: The poller's call counts, for the summary.
        self.stats = stats


@dataclass(frozen=True)
class Source:
    """Where one execution's parameters came from, for error messages."""

    where: str
    params: Mapping[str, Any]


# --- parameters ----------------------------------------------------------------------------


def _convert(machine: StateMachine, name: str, value: Any, where: str) -> Any:
    """Command-line values are strings; the describe call may want a number or a boolean."""
    if not isinstance(value, str):
        return value
    specs = {spec.name: spec for spec in (*machine.identity, *machine.optional)}
    spec = specs.get(name)
    if spec is None:
        return value  # Execution() names the unknown parameter and lists the known ones.
    kind = spec.type_name
    if kind in ("list", "structure", "map"):
        member = spec.shape.member.type_name if kind == "list" and spec.shape else None
        return _structured(name, kind, member, value, where)
    try:
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("float", "double"):
            return float(value)
    except ValueError:
        raise UsageError(f"{where}: {name}: expected {kind} value, got {value!r}") from None
    if kind == "boolean":
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise UsageError(f"{where}: {name}: expected true or false, got {value!r}")
    return value


def _structured(name: str, kind: str, member: str | None, value: str, where: str) -> Any:
    """A list, structure or map parameter: JSON, or (a list of strings) ``a,b,c``."""
    text = value.strip()
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: {name}: not JSON ({exc.msg}): {value!r}") from None
    if member == "string":
        return [item.strip() for item in text.split(",") if item.strip()]
    raise UsageError(f"{where}: {name}: expected a JSON {kind}, got {value!r}")


def _typed(machine: StateMachine, params: Mapping[str, Any], where: str) -> dict[str, Any]:
    return {name: _convert(machine, name, value, where) for name, value in params.items()}


#: The longest line of a --from file: a line names one execution's parameters, a
#: few hundred characters; a stream with no newline (/dev/zero) must not be read whole.
_MAX_LINE = 1 << 20


def _lines(handle: TextIO, label: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(iter(lambda: handle.readline(_MAX_LINE + 1), ""), start=1):
        if len(line) > _MAX_LINE:
            raise UsageError(f"--from {label} line {number}: longer than {_MAX_LINE:,} characters")
        yield number, line


def _read_lines(path: str, stdin: TextIO) -> Iterator[tuple[int, str]]:
    if path == "-":
        yield from _lines(stdin, "stdin")
        return
    try:
        with open(path, encoding="utf-8") as handle:
            yield from _lines(handle, path)
    except OSError as exc:
        raise UsageError(f"--from: cannot read {path!r}: {exc.strerror}") from None


def _from_file(path: str, stdin: TextIO) -> list[Source]:
    sources = []
    label = "stdin" if path == "-" else path
    # Binary data, a line nested past the JSON parser's depth: whatever the file
    # holds, a bad one is a usage error naming it, never a traceback.
    with reading(f"--from {label}"):
        for number, line in _read_lines(path, stdin):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            where = f"--from {label} line {number}"
            with reading(where):
                try:
                    data = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise UsageError(f"{where}: not JSON ({exc.msg})") from None
            if not isinstance(data, dict):
                raise UsageError(
                    f"{where}: expected a JSON object of parameters, got {text[:60]!r}"
                )
            sources.append(Source(where, data))
    return sources


def static_sources(args: argparse.Namespace, stdin: TextIO) -> tuple[dict[str, str], list[Source]]:
    """The shared ``--param`` values and the executions named without any call."""
    shared: dict[str, str] = {}
    for name, value in args.param:
        if name in shared and shared[name] != value:
            raise UsageError(f"--param: {name} is given twice ({shared[name]!r} and {value!r})")
        shared[name] = value
    sources = [
        Source(f"--execution #{i}", group) for i, group in enumerate(args.execution, start=1)
    ]
    if args.from_file is not None:
        sources += _from_file(args.from_file, stdin)
    return shared, sources


def build_executions(
    machine: StateMachine, shared: Mapping[str, Any], sources: Sequence[Source]
) -> list[Execution]:
    executions = []
    common = _typed(machine, shared, "--param")
    for source in sources:
        params = {**common, **_typed(machine, source.params, source.where)}
        try:
            executions.append(Execution(machine, params))
        except InvalidExecution as exc:
            raise UsageError(f"{source.where}: {exc}") from None
    return executions


# --- listing a parent ----------------------------------------------------------------------


def _listing(
    machine: StateMachine,
    parents: Sequence[str],
    shared: Mapping[str, Any],
    client: Any,
    *,
    alone: bool,
    budgets: BudgetRegistry,
) -> Callable[[Poller, float | None], Awaitable[list[Execution]]]:
    """List every execution of each parent on the poller (its budgets, deadline, timeouts).

    The listing gets what is left of ``--timeout`` (the seconds passed to it),
    and the wait what the listing left.
    """

    async def listing(poller: Poller, timeout: float | None) -> list[Execution]:
        found: list[Execution] = []
        deadline = None if timeout is None else anyio.current_time() + timeout
        for parent in parents:
            what = f"--all-of {parent}"
            left = None if deadline is None else max(0.0, deadline - anyio.current_time())
            try:
                listed = await poller.list_executions(
                    machine, parent, client=client, params=shared, timeout=left
                )
            except InvalidExecution as exc:
                raise UsageError(f"{what}: {exc}") from None
            except WaitTimeout as exc:
                # As for a wait: a listing that never got one answer did not time out,
                # AWS could not be reached (exit 4, one rule for every call).
                code = (
                    ExitCode.AWS_ERROR
                    if never_answered(poller.stats, budgets)
                    else ExitCode.TIMED_OUT
                )
                raise ListingFailed(f"{what}: {exc}", code, poller.stats) from None
            except ExecutionNotFound as exc:
                raise ListingFailed(f"{what}: {exc}", ExitCode.FAILED, poller.stats) from None
            except ServiceError as exc:
                if isinstance(exc.__cause__, ParamValidationError):
                    raise UsageError(f"{what}: {exc.__cause__}") from None
                raise ListingFailed(f"{what}: {exc}", ExitCode.AWS_ERROR, poller.stats) from None
            _log.info(
                "waiters.cli.listed",
                type=machine.name,
                parent=parent,
                operation=machine.batch.operation if machine.batch else None,
                executions=len(listed),
            )
            found.extend(listed)
        if alone and not found:
            # Not "every execution succeeded": there was none, which a pipeline
            # waiting on a rollout must be able to tell apart.
            raise ListingFailed(
                f"--all-of {', '.join(parents)}: no execution to wait on "
                f"({machine.service} {machine.batch.operation if machine.batch else ''} "
                "listed none)",
                ExitCode.NOTHING,
            )
        return found

    return listing


# --- the command ---------------------------------------------------------------------------


def _deadline(args: argparse.Namespace, resuming: bool) -> float | None:
    """The wait's timeout in seconds from now: ``--timeout``, or what is left to ``--deadline-at``.

    Resuming, the checkpoint's deadline wins (the first run's own), so a
    ``--deadline-at`` past by now is no error: what is left times out.
    """
    at: float | None = args.deadline_at
    if at is None:
        return cast("float | None", args.timeout)
    if getattr(args, "timeout_given", False):
        raise UsageError(
            "--deadline-at and --timeout: give one, not both (--deadline-at is an absolute "
            f"time, --timeout a duration from now; got --deadline-at {_iso(at)} and "
            f"--timeout {args.timeout}s)"
        )
    left: float = at - time.time()
    if left <= 0 and not resuming:
        raise UsageError(
            f"--deadline-at: {_iso(at)} is in the past (it is now {_iso(time.time())})"
        )
    return max(left, 0.0)


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return (
        datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def _checkpoint(args: argparse.Namespace) -> tuple[CheckpointFile | None, Any]:
    """The ``--checkpoint`` file, and the checkpoint it holds (None: a first run)."""
    if not args.checkpoint:
        return None, None
    file = CheckpointFile(args.checkpoint)
    resume = file.read()
    file.check_writable()
    if resume is not None:
        _log.info(
            "waiters.cli.resuming",
            path=args.checkpoint,
            executions=len(resume.executions),
            finished=resume.finished,
            deadline=resume.deadline,
        )
    return file, resume


def _options(args: argparse.Namespace, machine: StateMachine) -> RunOptions:
    file, resume = _checkpoint(args)
    timeout = _deadline(args, resume is not None)
    try:
        backoff = Backoff(min_delay=args.min_delay, max_delay=args.max_delay)
    except InvalidOption as exc:
        if args.max_delay < args.min_delay:
            raise UsageError(
                f"--max-delay: must be at least --min-delay ({args.min_delay:g}s), "
                f"got {args.max_delay:g}s"
            ) from None
        flag = "--min-delay" if exc.option == "Backoff.min_delay" else "--max-delay"
        raise UsageError(f"{flag}: {exc}") from None
    fail_fast = None
    if args.fail_fast is not None:
        how, value = args.fail_fast
        states = args.fail_fast_states
        if states is not None:
            unknown = sorted(set(states) - set(machine.states))
            if unknown:
                raise UsageError(
                    f"--fail-fast-states: {machine.name} has no state {unknown[0]!r}; "
                    f"its states are {', '.join(machine.states)}"
                )
        fail_fast = (
            FailFast(count=int(value), states=states)
            if how == "count"
            else FailFast(fraction=value, min_finished=args.fail_fast_min, states=states)
        )
    rate = args.max_rate
    budgets = BudgetRegistry(
        BudgetConfig(initial_rate=min(5.0, rate), max_rate=rate, min_rate=min(0.2, rate))
    )
    return RunOptions(
        wait=WaitOptions(timeout=timeout, backoff=backoff, not_found_grace=args.not_found_grace),
        poller=PollerOptions(
            concurrency=args.concurrency,
            failure_reasons=args.failure_reasons,
            latency=args.latency,
        ),
        budgets=budgets,
        fail_fast=fail_fast,
        accept=frozenset(args.accept),
        checkpoint=file,
        resume=resume,
        events=event_source(args, machine),
    )


def _session(args: argparse.Namespace) -> Any:
    import aioboto3
    from botocore.exceptions import InvalidRegionError, ProfileNotFound
    from botocore.utils import validate_region_name

    # botocore reads AWS_DEFAULT_REGION; the AWS CLI v2 and the other SDKs also
    # read AWS_REGION (first), so a pipeline that sets only that works here too.
    region_name = args.region or os.environ.get("AWS_REGION") or None
    # A broken config or credentials file is bad input too, named as such.
    with reading("AWS configuration"):
        try:
            session = aioboto3.Session(profile_name=args.profile, region_name=region_name)
            region = session.region_name
        except ProfileNotFound:
            raise UsageError(f"--profile: no profile named {args.profile!r}") from None
    if not region:
        raise UsageError(
            "--region: no region configured; pass --region, set AWS_REGION or "
            "AWS_DEFAULT_REGION, or give the profile a region"
        )
    try:
        validate_region_name(region)
    except InvalidRegionError:
        # botocore refuses it only when the first client opens, which reads as an
        # AWS error (exit 4); it is the user's input.
        source = (
            "--region"
            if args.region
            else "AWS_REGION"
            if os.environ.get("AWS_REGION")
            else "the configured region (AWS_DEFAULT_REGION or the profile)"
        )
        raise UsageError(f"{source}: not a region name such as eu-west-1: {region!r}") from None
    return session


def _client_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    from botocore.config import Config

    kwargs: dict[str, Any] = {
        "config": Config(
            retries=cast("Any", dict(POLL_RETRY_CONFIG)),
            max_pool_connections=max(10, args.concurrency),
            # Endpoint host prefixes (iotsitewise's "api.") make no sense on an explicit
            # endpoint such as a simulator's 127.0.0.1.
            inject_host_prefix=args.endpoint_url is None,
            user_agent_extra="waiters-cli",
        )
    }
    if args.endpoint_url is not None:
        kwargs["endpoint_url"] = args.endpoint_url
    return kwargs


def run_wait(
    args: argparse.Namespace, report: Report, console: Console, stdin: TextIO = sys.stdin
) -> int:
    """Validate everything that needs no call, then wait. Raises UsageError for exit 2."""
    try:
        machine = default_registry().get(args.type)
    except InvalidExecution as exc:
        raise UsageError(f"TYPE: {exc}") from None
    if args.all_of and machine.batch is None:
        raise UsageError(f"--all-of: {machine.name} has no list operation to enumerate a parent")
    try:
        # Only --from may block (a pipe never closed): a signal there ends the read.
        reading_input = (
            process_signals().interruptible()
            if args.from_file is not None
            else contextlib.nullcontext()
        )
        with reading_input:
            shared, sources = static_sources(args, stdin)
    except Interrupted as exc:
        # Nothing was handed in yet, or not all of it: nothing to list.
        return cancelled_early(report)(_interrupted(exc.signum))
    if not sources and not args.all_of:
        if not shared:
            raise UsageError(
                "nothing to wait on: name an execution with --param NAME=VALUE, or use "
                "--execution, --from or --all-of"
            )
        sources = [Source("--param", shared)]
        shared = {}
    executions = build_executions(machine, shared, sources)
    options = _options(args, machine)
    session = _session(args)
    client_kwargs = _client_kwargs(args)

    async def body(interrupts: Interrupts) -> int:
        from botocore.exceptions import BotoCoreError

        try:
            services = [machine.service]
            if machine.ending is not None:
                services.append(machine.ending.service)
            async with (
                open_clients(session, services, **client_kwargs) as clients,
                _queue_client(args, session, client_kwargs, options) as run_options,
            ):
                client = clients[machine.service]
                bound = [execution.bind(client) for execution in executions]
                listing = None
                if args.all_of and options.resume is not None and options.checkpoint:
                    # What the first run listed, not a new listing: see executions_of.
                    bound = [
                        execution.bind(client)
                        for execution in executions_of(options.checkpoint, options.resume, machine)
                    ]
                elif args.all_of:
                    common = _typed(machine, shared, "--param")
                    listing = _listing(
                        machine,
                        args.all_of,
                        common,
                        client,
                        alone=not bound,
                        budgets=options.budgets,
                    )
                _log.info(
                    "waiters.cli.waiting",
                    type=machine.name,
                    executions=len(bound),
                    parents=len(args.all_of),
                    region=session.region_name,
                    endpoint_url=args.endpoint_url,
                    events_queue=args.events_queue,
                )
                return await wait_and_report(
                    bound, run_options, report, interrupts, listing=listing, clients=clients
                )
        except ListingFailed as exc:
            return _failed_before_waiting(report, str(exc), exc.code, exc.stats)
        except BotoCoreError as exc:
            # Client creation: a region botocore has no endpoint for, a broken config file.
            return _failed_before_waiting(report, f"{machine.service}: {exc}", ExitCode.AWS_ERROR)

    return anyio.run(run_interruptible, body, cancelled_early(report, executions))


@contextlib.asynccontextmanager
async def _queue_client(
    args: argparse.Namespace, session: Any, client_kwargs: dict[str, Any], options: RunOptions
) -> AsyncIterator[RunOptions]:
    """*options* with the event queue's client opened (the same session as the others)."""
    source = options.events
    if source is None:
        yield options
        return
    kwargs = queue_client_kwargs(args, session.region_name, client_kwargs)
    async with open_clients(session, ["sqs"], **kwargs) as clients:
        client = clients["sqs"]
        await check_queue(client, source.queue_url, timeout=options.poller.call_limit)
        yield replace(options, events=with_client(source, client))


def _interrupted(signum: int) -> Interrupts:
    interrupts = Interrupts()
    interrupts.signum = signum
    return interrupts


def _failed_before_waiting(report: Report, message: str, code: ExitCode, stats: Any = None) -> int:
    if code is ExitCode.USAGE:
        raise UsageError(message)
    print(f"waiters: error: {one_line(message)}", file=sys.stderr)  # noqa: T201 - the answer
    calls = (
        {"calls": stats.calls, "throttles": stats.throttles, "errors": stats.errors}
        if stats is not None
        else {}
    )
    report.finish(Summary(outcomes=(), total=0, exit_code=int(code), elapsed=0.0, **calls))
    return int(code)
