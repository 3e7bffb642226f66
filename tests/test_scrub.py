"""Nothing secret leaves the package, and nothing a service says leaves unbounded.

Services quote requests in their messages (a signature mismatch quotes the
canonical request, session token included) and answer with whatever text
they hold. Every reason, exception message and log event passes through
one scrubber; these tests feed it secrets in every form they take (access
key ids, secret keys, session tokens, SigV4 query parameters and headers,
Authorization headers, credential-file keys) and 10 MB texts, through the
scrubber alone, through waits, and through the command line.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import structlog
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.scripted import ScriptedClient, status_response
from tests.test_malformed import ScriptedEndpoint
from waiters import (
    Backoff,
    BudgetRegistry,
    Outcome,
    OutcomeKind,
    WaiterError,
    default_registry,
    wait_for,
)
from waiters._scrub import MAX_CHARS, scrub
from waiters.testing import run_virtual

JOB = default_registry().get("iot-job-execution")
REPO = Path(__file__).resolve().parent.parent
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _mixed(text: str) -> bool:
    """Random base64 mixes upper and lower case: all but one 40-character key in a billion."""
    return any(c.isupper() for c in text) and any(c.islower() for c in text)


KEY_IDS = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["AKIA", "ASIA", "AROA", "AIDA"]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16),
)
SECRET_KEYS = st.text(alphabet=_B64, min_size=40, max_size=40).filter(_mixed)
SESSION_TOKENS = (
    st.binary(min_size=60, max_size=600)
    .map(lambda raw: base64.b64encode(raw).decode())
    .filter(_mixed)
)
SIGNATURES = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
SEPARATORS = st.sampled_from([" ", "\n", "\t", ":", "=", "'", '"', ",", ";", "&", "(", ")"])


@st.composite
def secret_in_context(draw: st.DrawFn) -> tuple[str, list[str]]:
    """One secret as a message may hold it: ``(text, secrets it holds)``."""
    key_id, secret, token, signature = (
        draw(KEY_IDS),
        draw(SECRET_KEYS),
        draw(SESSION_TOKENS),
        draw(SIGNATURES),
    )
    before, after = draw(SEPARATORS), draw(SEPARATORS)
    forms = [
        (f"{before}{key_id}{after}", [key_id]),
        (f"{before}{secret}{after}", [secret]),
        (f"{before}{token}{after}", [token]),
        (f"\nx-amz-security-token:{token}\n", [token]),
        (f"X-Amz-Security-Token: {token}\r\n", [token]),
        (f"?X-Amz-Security-Token={quote(token, safe='')}&", [token, quote(token, safe="")]),
        (
            f"&X-Amz-Credential={key_id}%2F20240101%2Fus-east-1%2Fiot%2Faws4_request"
            f"&X-Amz-Signature={signature}",
            [key_id, signature],
        ),
        (
            f"Authorization: AWS4-HMAC-SHA256 Credential={key_id}/20240101/us-east-1/iot/"
            f"aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}\n",
            [key_id, signature],
        ),
        (f"Signature={signature},", [signature]),
        (f"Credential={key_id}/20240101/us-east-1/iot/aws4_request,", [key_id]),
        (f'{{"SessionToken": "{token}", "SecretAccessKey": "{secret}"}}', [token, secret]),
        (f"aws_secret_access_key = {secret}\naws_session_token={token}\n", [secret, token]),
    ]
    chosen: tuple[str, list[str]] = draw(st.sampled_from(forms))
    return chosen


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A message of any text with secrets embedded: ``(message, every secret in it)``."""
    parts: list[str] = []
    secrets: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        parts.append(draw(st.text(max_size=30)))
        text, held = draw(secret_in_context())
        parts.append(text)
        secrets += held
    parts.append(draw(st.text(max_size=30)))
    if draw(st.booleans()):
        # Long enough to be cut: a secret may straddle the cut.
        parts.insert(0, "x" * draw(st.integers(min_value=MAX_CHARS - 700, max_value=MAX_CHARS)))
    return "".join(parts), secrets


def _pieces(secret: str) -> list[str]:
    """The secret and its 16-character start, middle and end: a part is a leak too."""
    middle = len(secret) // 2
    return [secret, secret[:16], secret[middle - 8 : middle + 8], secret[-16:]]


def _assert_none_survive(secrets: list[str], text: str, given: str = "") -> None:
    """No secret, nor a 16-character part of one, is in *text*, unless *given* holds the
    part elsewhere than in its secrets (random filler that happens to read like one)."""
    elsewhere = given
    for secret in secrets:
        elsewhere = elsewhere.replace(secret, "\n")
    for secret in secrets:
        for piece in _pieces(secret):
            if piece not in elsewhere:
                assert piece not in text, (secret, text)


#: The reported message: a signature mismatch quoting the canonical request.
TOKEN = "IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJHMEUCIQD" + "x9Zq/abc+DEF0123456789" * 12 + "=="
KEY_ID = "ASIAQWERTYUIOPASDFGH"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SIGNATURE = "4daf4cee93d2dad035ac026a7cd066b0a0028032a282bab03b0a0bc605548634"
REPORTED = (
    "The request signature we calculated does not match the signature you provided. "
    "The Canonical String for this request should have been\n'GET\n/things/t/jobs/j\n\n"
    f"host:127.0.0.1\nx-amz-date:20240101T000000Z\nx-amz-security-token:{TOKEN}\n\n"
    "host;x-amz-date;x-amz-security-token\n"
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n\n"
    f"Authorization: AWS4-HMAC-SHA256 Credential={KEY_ID}/20240101/us-east-1/iot/aws4_request, "
    f"SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={SIGNATURE}"
)


@settings(max_examples=300, deadline=None)
@given(message=messages())
@example(message=(REPORTED, [TOKEN, KEY_ID, SIGNATURE]))
def test_no_secret_survives_the_scrubber(message: tuple[str, list[str]]) -> None:
    """Any text with secrets embedded in any of their forms, cut or not: no secret, and no
    16-character part of one, survives; the result is bounded."""
    text, secrets = message
    scrubbed = scrub(text)
    _assert_none_survive(secrets, scrubbed, text)
    assert len(scrubbed) <= MAX_CHARS + 40


def test_the_scrubber_leaves_plain_words_alone() -> None:
    """Reasons read as they were: states, codes, ARNs, hex digests, paths, ids."""
    for text in [
        "IN_PROGRESS",
        "AccessDeniedException: User arn:aws:iam::123456789012:user/ci is not authorized",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "s3://firmware-bucket/releases/2024/pump/controller/image-7.bin",
        "reason=firmware checksum mismatch, step=flash",
        "The security token included in the request is invalid.",
    ]:
        assert scrub(text) == text


@pytest.mark.parametrize("size", [MAX_CHARS + 1, 10 * 1024 * 1024])
def test_a_long_text_is_cut_with_a_marker(size: int) -> None:
    """A 10 MB message keeps its first words and says how much was cut."""
    text = ("firmware " * (size // 9 + 1))[:size]
    scrubbed = scrub(text)
    assert len(scrubbed) <= MAX_CHARS + 40
    assert scrubbed.startswith("firmware firmware")
    assert scrubbed.endswith(" characters cut>")


def _service_error(code: str, status: int, message: str) -> ClientError:
    # The stubs require metadata members a client fills in; an error answer needs only these.
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "DescribeJobExecution")


def _outputs(outcome: Outcome | None, error: WaiterError | None, logs: Any) -> str:
    """Everything a wait gives back in words: outcome, error, its cause, its traceback, logs."""
    texts = [json.dumps(logs, default=str)]
    if outcome is not None:
        texts += [str(outcome.reason), str(outcome.state), repr(outcome), str(outcome.error)]
    if error is not None:
        texts += [str(error), repr(error), str(error.reason), str(error.__cause__)]
        texts += traceback.format_exception(error)
    return "\n".join(texts)


def _wait_on(answers: list[Any]) -> tuple[Outcome | None, WaiterError | None, Any]:
    client = ScriptedClient("iot", JOB.method, answers)

    async def main() -> Outcome:
        return await wait_for(
            client,
            JOB.method,
            jobId="j",
            thingName="t",
            timeout=60,
            backoff=Backoff(1, 5),
            log_responses=True,
            budgets=BudgetRegistry(),
        )

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(0))
    with structlog.testing.capture_logs() as logs:
        try:
            return run_virtual(main), None, logs
        except WaiterError as error:
            return error.outcome, error, logs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=messages(), code=st.sampled_from(["SignatureDoesNotMatch", "AccessDenied", "X"]))
@example(message=(REPORTED, [TOKEN, KEY_ID, SIGNATURE]), code="SignatureDoesNotMatch")
def test_no_secret_in_a_service_error_reaches_any_output(
    message: tuple[str, list[str]], code: str
) -> None:
    """A service error whose message holds secrets: not in the reason, the error's text or
    repr, its cause, its printed traceback, or any log event."""
    text, secrets = message
    status = 403 if code != "X" else 400
    error = _service_error(code, status, text)
    outcome, raised, logs = _wait_on([error])
    assert raised is not None and outcome is not None and outcome.kind is OutcomeKind.ERROR
    _assert_none_survive(secrets, _outputs(outcome, raised, logs), text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=messages())
def test_no_secret_in_an_answer_reaches_any_output(message: tuple[str, list[str]]) -> None:
    """An answer whose state and failure details hold secrets (with responses logged):
    not in the reason, the state, the error or any log event."""
    text, secrets = message
    answers = [
        status_response(JOB, text),
        status_response(
            JOB,
            "FAILED",
            execution={"status": "FAILED", "statusDetails": {"detailsMap": {"why": text}}},
        ),
    ]
    outcome, raised, logs = _wait_on(answers)
    assert outcome is not None and outcome.kind is OutcomeKind.FAILED
    _assert_none_survive(secrets, _outputs(outcome, raised, logs), text)


def test_a_10_mb_message_or_state_makes_no_10_mb_reason_or_log_line() -> None:
    """A 10 MB error message, and a 10 MB state that never ends: bounded reasons, errors,
    states and log events."""
    huge = "x" * (10 * 1024 * 1024)
    error = _service_error("ValidationException", 400, huge)
    for answers in ([error], [status_response(JOB, huge)]):
        outcome, raised, logs = _wait_on(answers)
        assert outcome is not None
        assert len(str(outcome.reason)) <= MAX_CHARS + 100
        assert len(str(outcome.state)) <= MAX_CHARS + 100
        assert raised is not None and len(str(raised)) <= 2 * MAX_CHARS
        for event in logs:
            assert len(json.dumps(event, default=str)) <= 3 * MAX_CHARS, event["event"]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[ScriptedEndpoint]:
    server = ScriptedEndpoint()
    yield server
    server.close()


def test_the_reported_signature_mismatch_leaks_nothing_on_the_command_line(
    endpoint: ScriptedEndpoint, tmp_path: Path
) -> None:
    """The reported case: a SignatureDoesNotMatch quoting the canonical request, session
    token included, put it in stdout twice. Over HTTP, with the CLI's JSON output and
    debug logs: the token, key id, secret and signature appear nowhere."""

    def refuse(headers: Any) -> tuple[int, dict[str, str], bytes]:
        quoted = (
            "The request signature we calculated does not match the signature you provided. "
            "The Canonical String for this request should have been\n'GET\n/things/t/jobs/j"
            f"\n\nhost:127.0.0.1\nx-amz-security-token:{headers['X-Amz-Security-Token']}\n\n"
            f"host;x-amz-security-token\n'\n\nAuthorization: {headers['Authorization']}"
        )
        body = json.dumps({"message": quoted}).encode()
        return 403, {"x-amzn-ErrorType": "SignatureDoesNotMatch"}, body

    endpoint.play(refuse)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": TOKEN,
        "AWS_ACCOUNT_ID": "123456789012",
    }
    result = subprocess.run(
        [
            *(sys.executable, "-m", "waiters.cli", "wait", "iot-job-execution"),
            *("--param", "jobId=j", "--param", "thingName=t", "--region", "us-east-1"),
            *("--endpoint-url", endpoint.url, "--output", "json", "-vv"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert result.returncode == 4, result.stderr
    assert "SignatureDoesNotMatch" in result.stdout
    _assert_none_survive([TOKEN, KEY_ID, SECRET], result.stdout + result.stderr)
    assert "Signature=" not in result.stdout + result.stderr
