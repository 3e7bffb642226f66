"""A shard's durable progress: the checkpoint it heartbeats, and reading it back.

A checkpoint holds the outcomes the shard has so far, the rollout's
absolute deadline, and the checkpoint of the shard's batch
(:class:`waiters.Checkpoint`: what was seen of each execution the final
state depends on, such as a Transfer run seen in progress): an execution
without an outcome in it is waited on again by the next attempt, which is
how none is lost, one with an outcome is not, which is how none is reported
twice, and one seen before is not taken for missing. It travels as one
string: JSON compressed with zlib, then base64. Outcomes repeat the same few
kinds and states, so a record costs about 13 characters once compressed
(measured: 1,000 outcomes, one in ten failed with a short reason, 13,236
characters, made in 6 ms); a reason is cut to 512 characters first, so a
shard whose every outcome has a random 512-character reason of its own costs
about 510 each (measured the same way). The batch's checkpoint adds its
executions' keys and what was seen of them (see :class:`waiters.Checkpoint`):
with it, a shard of IoT job executions half ended and half seen running costs
about 10 to 12 characters per execution (11,860 for 1,000, made in 12 ms;
297,988 for 30,000, in 405 ms).
Temporal refuses a heartbeat over 2 MB; :data:`MAX_CHECKPOINT` (1.5
million characters) refuses one before Temporal does, with an error that says
to split the account's targets: about 100,000 outcomes of the first kind, or
2,900 of the second.

Everything here is deterministic and free of I/O: the workflow reads the last
checkpoint of a shard that timed out too.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import Checkpoint, InvalidOption
from ._model import OutcomeRecord

__all__ = ["FORMAT", "MAX_CHECKPOINT", "Resumed", "checkpoint_of", "resume_from"]

#: The checkpoint format; a checkpoint of another format is refused, not guessed at.
FORMAT = "waiters.temporal.checkpoint/2"

#: The largest checkpoint, in characters, a shard heartbeats: under the
#: 2 MB Temporal allows a payload, with room for the envelope.
MAX_CHECKPOINT = 1_500_000

#: Characters of a reason kept in a checkpoint and a result.
REASON_LIMIT = 512


@dataclass(frozen=True, slots=True)
class Resumed:
    """What a shard's checkpoint says: its outcomes so far and the deadline.

    :param deadline: the rollout's deadline, epoch seconds.
    :param outcomes: the outcomes so far, by target index.
    :param batch: the checkpoint of the shard's batch, if it had one.
    """

    deadline: float
    outcomes: Mapping[int, OutcomeRecord]
    batch: Checkpoint | None = None


def cut(reason: str | None) -> str | None:
    """*reason* cut to :data:`REASON_LIMIT` characters, with a marker when cut."""
    if reason is None or len(reason) <= REASON_LIMIT:
        return reason
    return reason[: REASON_LIMIT - 1] + "…"


def checkpoint_of(
    outcomes: Iterable[OutcomeRecord], deadline: float, batch: Checkpoint | None = None
) -> str:
    """The checkpoint of a shard with *outcomes* so far and the rollout's *deadline*.

    *batch* is the checkpoint of the shard's batch (``Batch.checkpoint()``),
    once there is one.

    :raises ValueError: the checkpoint is larger than :data:`MAX_CHECKPOINT`
        (a shard too large for one heartbeat), naming the size.
    """
    rows = [
        [o.index, o.kind, o.state, cut(o.reason), o.attempts, round(o.finished_at, 3)]
        for o in outcomes
    ]
    data = json.dumps(
        {
            "format": FORMAT,
            "deadline": deadline,
            "outcomes": rows,
            "batch": None if batch is None else batch.to_json(),
        }
    )
    packed = base64.b64encode(zlib.compress(data.encode(), 6)).decode("ascii")
    if len(packed) > MAX_CHECKPOINT:
        raise ValueError(
            f"a checkpoint of {len(rows)} outcomes is {len(packed)} characters, over the "
            f"{MAX_CHECKPOINT} a heartbeat carries: split the account's targets into rollouts "
            "of fewer executions"
        )
    return packed


def resume_from(details: Sequence[Any]) -> Resumed | None:
    """The checkpoint in a shard's last heartbeat *details*, or ``None`` if it has none.

    :raises ValueError: details that are not a checkpoint of this format
        (corrupt, or another program's), saying what is wrong.
    """
    if not details:
        return None
    packed = details[0]
    if not isinstance(packed, str):
        # One error for every unreadable checkpoint: the caller tells none apart.
        raise ValueError(  # noqa: TRY004
            f"a shard checkpoint must be a string, got {type(packed).__name__}"
        )
    try:
        data = json.loads(zlib.decompress(base64.b64decode(packed, validate=True)))
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise ValueError(f"the shard checkpoint is corrupt: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"the shard checkpoint is not of format {FORMAT!r} (found {found!r})")
    try:
        deadline = float(data["deadline"])
        outcomes = {
            int(row[0]): OutcomeRecord(
                index=int(row[0]),
                kind=row[1],
                state=row[2],
                reason=row[3],
                attempts=int(row[4]),
                finished_at=float(row[5]),
            )
            for row in data["outcomes"]
        }
        batch = None if data["batch"] is None else Checkpoint.from_json(data["batch"])
    except (KeyError, IndexError, TypeError, ValueError, InvalidOption) as exc:
        raise ValueError(f"the shard checkpoint is corrupt: {exc!r}") from None
    return Resumed(deadline=deadline, outcomes=outcomes, batch=batch)
