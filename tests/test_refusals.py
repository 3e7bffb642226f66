"""A refusal ends what it was answered for: a denial one execution, an identity error the client.

IAM decides per resource (a policy may deny only jobs named ``private-*``), so
an AccessDenied is the answer about one execution; only an identity error
(expired or unknown credentials, a bad signature) is about every call of the
client. Each test runs a batch on virtual time against a client that answers
per execution.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scripted import status_response
from waiters import BatchResult, BudgetRegistry, OutcomeKind, default_registry, execution, wait_all
from waiters._calls import AUTHORIZATION_CODES, IDENTITY_CODES
from waiters._machine import service_model
from waiters.testing import run_virtual

JOB = default_registry().get("iot-job-execution")

#: Denials as services send them: the known codes, a code no list knows with a
#: 403 or a 401, and a bare status with no code at all.
DENIALS = [(code, 403) for code in sorted(AUTHORIZATION_CODES)] + [
    ("AuthorizationErrorNobodyListed", 403),
    ("AuthorizationErrorNobodyListed", 401),
    ("", 403),
]


class PerJobClient:
    """Refuses describe_job_execution for the jobs *refused* names, with (code, status).

    Every other execution answers SUCCEEDED. The refusal names the job, as
    IAM's messages name the resource.
    """

    def __init__(self, refused: set[str], code: str, status: int) -> None:
        self.meta = SimpleNamespace(service_model=service_model("iot"), region_name="us-east-1")
        self.refused = refused
        self.code = code
        self.status = status
        self.calls: list[str] = []

    async def describe_job_execution(self, **params: Any) -> Any:
        job = params["jobId"]
        self.calls.append(job)
        if job in self.refused or "*" in self.refused:
            response: Any = {
                "Error": {"Code": self.code, "Message": f"not authorized to describe {job}"},
                "ResponseMetadata": {"HTTPStatusCode": self.status},
            }
            raise ClientError(response, "DescribeJobExecution")
        return status_response(JOB, "SUCCEEDED")


def _run(client: PerJobClient, jobs: list[str]) -> BatchResult:
    async def main() -> BatchResult:
        executions = [execution(client, JOB.method, jobId=job, thingName="t") for job in jobs]
        return await wait_all(executions, budgets=BudgetRegistry(), batch=False)

    return run_virtual(main)


def _check_only_the_denied_end(jobs: list[str], refused: set[str], code: str, status: int) -> None:
    client = PerJobClient(refused, code, status)
    result = _run(client, jobs)
    for job, outcome in zip(jobs, result.outcomes, strict=True):
        if job in refused:
            # Its own answer, once: a denial is not retried.
            assert outcome.kind is OutcomeKind.ERROR, (job, outcome)
            assert outcome.attempts == 1
            assert outcome.reason is not None and f"describe {job}" in outcome.reason
        else:
            assert outcome.kind is OutcomeKind.SUCCEEDED, (job, outcome.reason)
            assert outcome.attempts >= 1
    assert sorted(client.calls) == sorted(jobs)


def test_one_resource_denied_ends_only_its_own_execution() -> None:
    """The reported case: a client denied only on private-* jobs, 1 denied and 10 allowed.
    Before, all 11 ended in error, the 10 with the other job's reason and 0 attempts."""
    jobs = ["private-1"] + [f"public-{n}" for n in range(10)]
    _check_only_the_denied_end(jobs, {"private-1"}, "AccessDeniedException", 403)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    denied=st.lists(st.booleans(), min_size=2, max_size=30).filter(any),
    denial=st.sampled_from(DENIALS),
)
def test_any_denial_ends_only_the_executions_it_answered_for(
    denied: list[bool], denial: tuple[str, int]
) -> None:
    """Any mix of denied and allowed executions on one client, any authorization error
    (known code, unknown code with 401 or 403, bare 403): each denied one ends in error
    with its own reason after its own one call; every allowed one succeeds."""
    jobs = [f"{'private' if no else 'public'}-{n}" for n, no in enumerate(denied)]
    refused = {job for job, no in zip(jobs, denied, strict=True) if no}
    _check_only_the_denied_end(jobs, refused, *denial)


@settings(max_examples=len(IDENTITY_CODES), deadline=None)
@given(code=st.sampled_from(sorted(IDENTITY_CODES)))
def test_an_identity_error_still_ends_every_execution_on_the_client(code: str) -> None:
    """A client whose identity is refused: 40 executions end in error after no more calls
    than were in flight (10), and those never called say the client was refused, not
    that they were."""
    client = PerJobClient({"*"}, code, 403)
    jobs = [f"job-{n}" for n in range(40)]
    result = _run(client, jobs)
    assert {o.kind for o in result.outcomes} == {OutcomeKind.ERROR}
    assert len(client.calls) <= 10
    for outcome in result.outcomes:
        assert outcome.reason is not None and code in outcome.reason
        if outcome.attempts == 0:
            assert outcome.reason.startswith("the client was refused on ")
