"""Identifiers: what new executions and their parents are called, and ARNs.

Generated identifiers satisfy the service model by construction and come
from the fleet's seeded generator, so the same seed names the same fleet.
Names a caller supplies are checked against the model's length and pattern
(:func:`check_id`), so a test cannot create an execution no real client
could describe.
"""

from __future__ import annotations

import random
import re
import uuid
from typing import Final

from ._catalogue import ExecutionType
from ._protocol import service_model

__all__ = [
    "check_id",
    "mint_ids",
    "mint_parent",
    "new_uuid",
    "thing_arn",
    "transfer_server_seq",
    "transfer_user_details",
]

_ALNUM: Final = "abcdefghijklmnopqrstuvwxyz0123456789"

# A Transfer execution's server id is a 68-bit mix of its sequence number and
# the seed, written as 17 hex digits.  The multiplier is odd, so the mix can be
# undone: a log group name leads back to its execution without an index.
_SERVER_MULTIPLIER: Final = 0x2545F4914F6CDD1D
_SERVER_BITS: Final = 68
_SERVER_MASK: Final = (1 << _SERVER_BITS) - 1
_SERVER_INVERSE: Final = pow(_SERVER_MULTIPLIER, -1, 1 << _SERVER_BITS)
_SERVER_ID: Final = re.compile(r"s-[0-9a-f]{17}")

_ID_CHECKS: dict[tuple[str, str, str], tuple[int, int | None, re.Pattern[str] | None]] = {}


def check_id(
    service: str, operation: str, member: str, value: str, label: str | None = None
) -> None:
    """Refuse an identifier the model's length or pattern would reject."""
    key = (service, operation, member)
    check = _ID_CHECKS.get(key)
    if check is None:
        input_shape = service_model(service).operation_model(operation).input_shape
        assert input_shape is not None
        shape = input_shape.members[member]
        pattern = shape.metadata.get("pattern")
        check = _ID_CHECKS[key] = (
            int(shape.metadata.get("min", 1)),
            shape.metadata.get("max"),
            re.compile(pattern) if pattern else None,
        )
    low, high, pattern = check
    name = label or member
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {value!r}")
    if len(value) < low or (high is not None and len(value) > high):
        raise ValueError(f"{name} {value!r} must be {low} to {high} characters long")
    if pattern is not None and not pattern.fullmatch(value):
        raise ValueError(f"{name} {value!r} does not match the model's pattern {pattern.pattern!r}")


def new_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from *rng* (``uuid.uuid4`` would not be seeded)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def thing_arn(region: str, account: str, thing: str) -> str:
    """The ARN of IoT thing *thing*."""
    return f"arn:aws:iot:{region}:{account}:thing/{thing}"


def transfer_user_details(seed: int, seq: int) -> tuple[str, str, str]:
    """``(server id, user name, session id)`` of the *seq*-th execution of a fleet seeded *seed*.

    Transfer executions run on a server of their own, for a user and session
    derived from their sequence number (``ServiceMetadata.UserDetails``).
    """
    server = f"s-{(seq * _SERVER_MULTIPLIER + seed) & _SERVER_MASK:017x}"
    return server, f"user-{seq % 1000:04d}", f"{seq:016x}"


def transfer_server_seq(seed: int, server: str) -> int | None:
    """The sequence number whose execution runs on *server* (inverse of the above), or None."""
    if not _SERVER_ID.fullmatch(server):
        return None
    return ((int(server[2:], 16) - seed) * _SERVER_INVERSE) & _SERVER_MASK


def mint_parent(
    rng: random.Random,
    execution_type: ExecutionType,
    parent: str | None,
    region: str,
    account: str,
) -> str:
    """The parent executions of *execution_type* are grouped under: *parent*, checked, or a new one.

    IoT commands are grouped by ARN, so a command id becomes one.
    """
    name = execution_type.name
    if parent is None:
        if name == "iot-job-execution":
            parent = f"job-{rng.getrandbits(48):012x}"
        elif name == "iot-command-execution":
            parent = f"cmd-{rng.getrandbits(48):012x}"
        elif name == "snow-execution":
            parent = f"task-{rng.getrandbits(48):012x}"
        elif name == "transfer-execution":
            parent = "w-" + "".join(rng.choice(_ALNUM) for _ in range(17))
        else:
            parent = new_uuid(rng)
    if not isinstance(parent, str):
        raise TypeError(f"parent must be a str, got {parent!r}")
    if name == "iot-command-execution":
        if not parent.startswith("arn:"):
            check_id("iot", "GetCommandExecution", "executionId", parent, "command id")
            parent = f"arn:aws:iot:{region}:{account}:command/{parent}"
    elif name == "iot-job-execution":
        check_id("iot", "DescribeJobExecution", "jobId", parent)
    elif name == "snow-execution":
        check_id("snow-device-management", "DescribeExecution", "taskId", parent)
    elif name == "transfer-execution":
        check_id("transfer", "DescribeExecution", "WorkflowId", parent)
    else:
        check_id("iotsitewise", "DescribeExecution", "executionId", parent, "asset id")
    return parent


def mint_ids(
    rng: random.Random,
    execution_type: ExecutionType,
    parent: str,
    ordinal: int,
    member: str | None,
    region: str,
    account: str,
) -> dict[str, str]:
    """The describe parameters of the *ordinal*-th execution under *parent*.

    *member* is the caller's name for it (thing name or ARN, device id), if any.
    """
    name = execution_type.name
    if name == "iot-job-execution":
        if member is None:
            return {"jobId": parent, "thingName": f"thing-{ordinal:05d}"}
        check_id("iot", "DescribeJobExecution", "thingName", member)
        return {"jobId": parent, "thingName": member}
    if name == "iot-command-execution":
        if member is None:
            target = thing_arn(region, account, f"thing-{ordinal:05d}")
        elif member.startswith("arn:"):
            target = member
        else:
            check_id("iot", "DescribeJobExecution", "thingName", member, "target thing name")
            target = thing_arn(region, account, member)
        return {"executionId": new_uuid(rng), "targetArn": target}
    if name == "snow-execution":
        if member is None:
            member = f"smd-{rng.getrandbits(64):016x}"
        else:
            check_id("snow-device-management", "DescribeExecution", "managedDeviceId", member)
        return {"managedDeviceId": member, "taskId": parent}
    if name == "transfer-execution":
        return {"ExecutionId": new_uuid(rng), "WorkflowId": parent}
    return {"executionId": new_uuid(rng)}
