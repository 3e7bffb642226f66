"""A checkpoint of a batch: enough to resume its wait in another process.

A wait that must outlive its process (a CI runner killed mid-rollout, a
retried worker) saves a :class:`Checkpoint` now and then and hands it to
:meth:`Poller.submit` when it starts again. The checkpoint holds what the
rest of the wait depends on, and nothing else:

- every execution of the batch, by its key (type and parameters, stable
  across processes), so a resume can tell its own batch from another's;
- the absolute deadline, in epoch seconds, so a resumed wait does not
  start its deadline again;
- the outcomes so far, kept compact (kind, state, a reason cut to
  :data:`REASON_LIMIT` characters, attempts, elapsed; no response, history
  or exception), so a resumed wait neither waits on them again nor reports
  them twice;
- for each execution seen but not finished, its last state (plus its
  retry attempt, and the log group its ending is read from, for types that
  have one), so an execution that was seen running and then is unknown to
  the service ends as a vanished running one ends (Transfer: read from its
  log), never ``not_found``.

Its size is bounded per execution: one key, and at most one record of
bounded fields. ``abandoned`` outcomes are not kept: they say the wait
stopped, not how an execution ended, so a resumed wait waits on them again.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import InvalidOption
from ._execution import Execution
from ._outcome import Outcome, OutcomeKind

__all__ = [
    "FORMAT",
    "REASON_LIMIT",
    "STATE_LIMIT",
    "VERSION",
    "Checkpoint",
    "SavedOutcome",
    "SeenState",
    "execution_key",
    "resume_plan",
]

#: The document's ``format`` value: anything else is not a checkpoint.
FORMAT = "waiters-checkpoint"
#: The format version this module writes and reads.
VERSION = 1
#: Characters of an outcome's reason a checkpoint keeps (the outcome itself keeps 2,048).
REASON_LIMIT = 256
#: Characters of a state a checkpoint keeps: a definition's states are far shorter;
#: only a service's free text, unknown to the definition, is ever cut.
STATE_LIMIT = 128
#: Characters of a log group name (CloudWatch Logs allows 512).
_LOG_GROUP_LIMIT = 512


def execution_key(execution: Execution) -> str:
    """The key of *execution* in a checkpoint: its type and parameters, as one string.

    ``iot-job-execution {"jobId":"j","thingName":"t"}``: the same in every
    process (parameters sorted, compact JSON). The client an execution is
    bound to is not part of it: a process's clients are its own.
    """
    params = json.dumps(execution.call_params(), sort_keys=True, separators=(",", ":"), default=str)
    return f"{execution.type} {params}"


def _cut(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class SavedOutcome:
    """An outcome kept in a checkpoint, compact.

    :param index: the execution's position in :attr:`Checkpoint.executions`.
    :param kind: how its wait ended (never ``abandoned``).
    :param state: the last state seen (at most :data:`STATE_LIMIT`
        characters), or ``None``.
    :param reason: why, cut to :data:`REASON_LIMIT` characters, or ``None``.
    :param attempts: the calls that reported on it.
    :param elapsed: seconds from the start of its wait (in the process that
        saw it end) to its outcome.
    """

    index: int
    kind: OutcomeKind
    state: str | None
    reason: str | None
    attempts: int
    elapsed: float


@dataclass(frozen=True, slots=True)
class SeenState:
    """What was seen of an execution still under way, kept in a checkpoint.

    :param index: the execution's position in :attr:`Checkpoint.executions`.
    :param state: the last state seen (at most :data:`STATE_LIMIT` characters).
    :param attempt: its retry attempt number, for types whose answers give
        one (a newer attempt is a retry, an older answer is stale), or ``None``.
    :param log_group: where its ending is read once the service no longer
        reports it, for types that have one (Transfer), or ``None``.
    """

    index: int
    state: str
    attempt: float | None = None
    log_group: str | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A batch's progress, to resume its wait elsewhere; see :meth:`Batch.checkpoint`.

    Take one with :meth:`Batch.checkpoint` (cheap: a copy of the batch's
    records), save it with :meth:`to_json`, read it back with
    :meth:`from_json`, and resume with ``poller.submit(executions,
    checkpoint=checkpoint)`` (or ``wait_all``): executions with an outcome
    in it are not waited on again and their outcomes are not reported again
    (they are in the batch's result), executions seen before count as seen,
    and the deadline is the checkpoint's.

    Size: one key per execution (its type and parameters as compact JSON)
    and at most one record each: an outcome (about 100 bytes, a reason at
    most :data:`REASON_LIMIT` characters) or a seen state (about 40 bytes,
    plus a log group name for Transfer).

    :param executions: the key of every execution of the batch
        (:func:`execution_key`), in the order they were given.
    :param deadline: the absolute deadline in epoch seconds (``time.time()``
        scale), or ``None`` for none.
    :param outcomes: the outcomes so far (:class:`SavedOutcome`), by index.
    :param seen: the executions seen and not finished (:class:`SeenState`).
    :raises InvalidOption: a field of the wrong type, an index out of range
        or given twice, a deadline that is not a finite number, an
        ``abandoned`` outcome; naming the field and the value.
    """

    executions: tuple[str, ...]
    deadline: float | None
    outcomes: tuple[SavedOutcome, ...] = ()
    seen: tuple[SeenState, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.executions, tuple) or not all(
            isinstance(key, str) for key in self.executions
        ):
            raise _bad("executions", "a tuple of execution keys (str)", self.executions)
        deadline = self.deadline
        if deadline is not None and (
            isinstance(deadline, bool)
            or not isinstance(deadline, int | float)
            or not math.isfinite(deadline)
        ):
            raise _bad("deadline", "epoch seconds (a finite number) or None", deadline)
        total = len(self.executions)
        taken: set[int] = set()
        for field, records, cls in (
            ("outcomes", self.outcomes, SavedOutcome),
            ("seen", self.seen, SeenState),
        ):
            if not isinstance(records, tuple):
                raise _bad(field, f"a tuple of {cls.__name__}", records)
            for record in records:
                if not isinstance(record, cls):
                    raise _bad(field, f"a tuple of {cls.__name__}", record)
                index = record.index
                if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < total:
                    raise _bad(f"{field}.index", f"an index below {total}", index)
                if index in taken:
                    raise _bad(f"{field}.index", "an execution named once", index)
                taken.add(index)
        for outcome in self.outcomes:
            if not isinstance(outcome.kind, OutcomeKind) or outcome.kind is OutcomeKind.ABANDONED:
                raise _bad("outcomes.kind", "an outcome kind other than abandoned", outcome.kind)

    @property
    def finished(self) -> int:
        """How many executions have an outcome in it."""
        return len(self.outcomes)

    def digest(self) -> str:
        """A short fingerprint of the batch's executions (their keys, in order)."""
        return _digest(self.executions)

    # --- JSON ------------------------------------------------------------------------

    def to_json(self) -> str:
        """The checkpoint as one compact JSON document (UTF-8 safe, ASCII only).

        ``{"format": "waiters-checkpoint", "version": 1, "deadline": ...,
        "executions": [...], "outcomes": [...], "seen": [...]}``; fields
        that are ``None`` are left out of each record.
        """
        outcomes = []
        for o in self.outcomes:
            record: dict[str, Any] = {"i": o.index, "kind": o.kind.value}
            if o.state is not None:
                record["state"] = o.state
            if o.reason is not None:
                record["reason"] = o.reason
            record["attempts"] = o.attempts
            record["elapsed"] = round(o.elapsed, 3)
            outcomes.append(record)
        seen = []
        for s in self.seen:
            entry: dict[str, Any] = {"i": s.index, "state": s.state}
            if s.attempt is not None:
                entry["attempt"] = s.attempt
            if s.log_group is not None:
                entry["log_group"] = s.log_group
            seen.append(entry)
        document = {
            "format": FORMAT,
            "version": VERSION,
            "deadline": self.deadline,
            "executions": list(self.executions),
            "outcomes": outcomes,
            "seen": seen,
        }
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        """Read a checkpoint written by :meth:`to_json`.

        :param text: the JSON document (str, or UTF-8 bytes).
        :raises InvalidOption: not JSON, not a checkpoint (another
            ``format``), a version this release does not read, or a field
            missing or of the wrong type; the message names the field
            (``checkpoint.outcomes[3].kind``) and the value.
        """
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InvalidOption(
                f"checkpoint: not a JSON document ({exc})", option="checkpoint", value=None
            ) from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            got = document.get("format") if isinstance(document, dict) else document
            raise _bad("format", f"{FORMAT!r} (this is not a waiters checkpoint)", got)
        version = document.get("version")
        if version != VERSION:
            raise _bad("version", f"{VERSION} (the version this release reads)", version)
        keys = document.get("executions")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise _bad("executions", "a list of execution keys (str)", _short(keys))
        outcomes = tuple(
            _outcome_from(f"outcomes[{n}]", record)
            for n, record in enumerate(_list(document, "outcomes"))
        )
        seen = tuple(
            _seen_from(f"seen[{n}]", record) for n, record in enumerate(_list(document, "seen"))
        )
        if "deadline" not in document:
            raise _bad("deadline", "epoch seconds or null", "(missing)")
        return cls(
            executions=tuple(keys), deadline=document["deadline"], outcomes=outcomes, seen=seen
        )


def _digest(keys: Sequence[str]) -> str:
    hasher = hashlib.sha256()
    for key in keys:
        hasher.update(key.encode("utf-8", "surrogatepass"))
        hasher.update(b"\n")
    return hasher.hexdigest()[:16]


def resume_plan(
    checkpoint: Checkpoint, executions: Sequence[Execution]
) -> tuple[dict[Execution, Outcome], dict[Execution, SeenState]]:
    """Which of *executions* a checkpoint has an outcome for, and which it saw.

    Executions are matched by key; the same key given twice (the same
    execution through two clients) matches by order of appearance.

    :param checkpoint: a :class:`Checkpoint` of a batch of these executions.
    :param executions: the distinct executions of the batch being resumed.
    :raises InvalidOption: the checkpoint is of another batch (an execution
        of one is not in the other), naming the first such execution.
    """
    positions: dict[str, list[int]] = {}
    for position, key in enumerate(checkpoint.executions):
        positions.setdefault(key, []).append(position)
    at: dict[int, Execution] = {}
    for execution in executions:
        key = execution_key(execution)
        free = positions.get(key)
        if not free:
            raise InvalidOption(
                f"checkpoint: it is of another batch: {execution.describe()} is not in it "
                f"({len(checkpoint.executions):,} executions in the checkpoint, "
                f"{len(executions):,} given)",
                option="checkpoint",
                value=key,
            )
        at[free.pop(0)] = execution
    left = [key for key, free in positions.items() if free]
    if left:
        raise InvalidOption(
            f"checkpoint: it is of another batch: it names {left[0]}, which was not given "
            f"({len(checkpoint.executions):,} executions in the checkpoint, "
            f"{len(executions):,} given)",
            option="checkpoint",
            value=left[0],
        )
    outcomes = {
        at[saved.index]: Outcome(
            execution=at[saved.index],
            kind=saved.kind,
            state=saved.state,
            reason=saved.reason,
            response=None,
            attempts=saved.attempts,
            elapsed=saved.elapsed,
            history=(),
        )
        for saved in checkpoint.outcomes
    }
    seen = {at[state.index]: state for state in checkpoint.seen}
    return outcomes, seen


def _bad(field: str, expected: str, value: Any) -> InvalidOption:
    name = f"checkpoint.{field}"
    return InvalidOption(f"{name} must be {expected}, got {value!r}", option=name, value=value)


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 80 else text[:77] + "..."


def _list(document: Mapping[str, Any], field: str) -> list[Any]:
    value = document.get(field)
    if not isinstance(value, list):
        raise _bad(field, "a list", _short(value))
    return value


def _field(where: str, record: Mapping[str, Any], name: str, types: Any, expected: str) -> Any:
    value = record.get(name)
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise _bad(f"{where}.{name}", expected, value)
    if not isinstance(value, types):
        raise _bad(f"{where}.{name}", expected, _short(value))
    return value


def _outcome_from(where: str, record: Any) -> SavedOutcome:
    if not isinstance(record, dict):
        raise _bad(where, "an object", _short(record))
    kind_text = _field(where, record, "kind", str, "an outcome kind")
    try:
        kind = OutcomeKind(kind_text)
    except ValueError:
        raise _bad(f"{where}.kind", "an outcome kind", kind_text) from None
    elapsed = _field(where, record, "elapsed", (int, float), "seconds")
    if not math.isfinite(elapsed) or elapsed < 0:
        raise _bad(f"{where}.elapsed", "seconds (finite, not negative)", elapsed)
    attempts = _field(where, record, "attempts", int, "a count of calls")
    if attempts < 0:
        raise _bad(f"{where}.attempts", "a count of calls (not negative)", attempts)
    return SavedOutcome(
        index=_field(where, record, "i", int, "an index"),
        kind=kind,
        state=_cut(_field(where, record, "state", (str, type(None)), "a state"), STATE_LIMIT),
        reason=_cut(_field(where, record, "reason", (str, type(None)), "text"), REASON_LIMIT),
        attempts=attempts,
        elapsed=float(elapsed),
    )


def _seen_from(where: str, record: Any) -> SeenState:
    if not isinstance(record, dict):
        raise _bad(where, "an object", _short(record))
    attempt = _field(where, record, "attempt", (int, float, type(None)), "a number")
    if attempt is not None and not math.isfinite(attempt):
        raise _bad(f"{where}.attempt", "a finite number", attempt)
    return SeenState(
        index=_field(where, record, "i", int, "an index"),
        state=_cut(_field(where, record, "state", str, "a state"), STATE_LIMIT) or "",
        attempt=attempt,
        log_group=_cut(
            _field(where, record, "log_group", (str, type(None)), "a log group name"),
            _LOG_GROUP_LIMIT,
        ),
    )
