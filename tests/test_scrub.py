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
from hypothesis import HealthCheck, assume, example, given, settings
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
from waiters._scrub import MAX_CHARS, MAX_VALUE_CHARS, scrub, scrub_value
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
# Text no other rule would take for a secret: only an XML element's tag says it is one.
PLAIN_SECRETS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=16, max_size=40)
SECRET_TAGS = st.one_of(
    st.sampled_from(
        [
            "SignatureProvided", "StringToSign", "StringToSignBytes", "CanonicalRequest",
            "AWSAccessKeyId", "SessionToken", "SecretAccessKey", "Credentials", "Password",
        ]
    ),
    st.builds(
        lambda before, word, after: before + word + after,
        st.sampled_from(["", "x", "aws:", "Provided"]),
        st.sampled_from(["Signature", "Credential", "Token", "Key", "Secret", "password"]),
        st.sampled_from(["", "Id", "Provided", "_value"]),
    ),
)  # fmt: skip


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
    tag, plain = draw(SECRET_TAGS), draw(PLAIN_SECRETS)
    url_secret, url_token = quote(secret, safe=""), quote(token, safe="")
    json_secret = secret.replace("/", "\\/")
    json_u_secret = secret.replace("/", "\\u002f").replace("+", "\\u002b")
    # The name's separator as a service may escape it: URL-encoded in either case of
    # hex, JSON's \u escape.
    equals = draw(st.sampled_from(["=", ":", "%3D", "%3d", "%3A", "\\u003d", "\\u003D"]))
    name = draw(st.sampled_from(["Signature", "signature", "X-Amz-Signature", "Credential"]))
    forms = [
        # As a service may echo them: bare, URL-encoded, JSON-escaped, base64, in XML.
        (f"{before}{signature}{after}", [signature]),
        (f"{before}{url_secret}{after}", [secret, url_secret]),
        (f"{before}{url_token}{after}", [token, url_token]),
        (f"{before}{json_secret}{after}", [secret, json_secret]),
        (f"{before}{json_u_secret}{after}", [secret, json_u_secret]),
        (f"{before}{name}{equals}{signature}{after}", [signature]),
        (f"{before}{base64.b64encode(secret.encode()).decode()}{after}", [secret]),
        (f"<{tag}>{plain}</{tag}>", [plain]),
        (f'<{tag} xmlns="urn:x">{signature}</{tag}>', [signature]),
        (f"<{tag}>AWS4-HMAC-SHA256\n20240101T000000Z\n{plain}\n</{tag}>", [plain]),
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
    # Filler that repeats a secret found in XML only (text no rule takes for one
    # elsewhere) holds it outside the element, where it is no secret.
    assume(not any(secret in part for secret in secrets for part in parts[::2]))
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


#: The reported echoes: a bare signature in a detail, S3's XML error, a URL-encoded secret key.
HOSTILE_SECRET = "sEcReT/kEy+HoStIlE0123456789abcdefghijKL"
ECHOES = [
    (f"sig {SIGNATURE}", [SIGNATURE]),
    (f"<SignatureProvided>{SIGNATURE}</SignatureProvided>", [SIGNATURE]),
    (
        f"bad key {quote(HOSTILE_SECRET, safe='')} / x",
        [HOSTILE_SECRET, quote(HOSTILE_SECRET, safe="")],
    ),
    ("<AWSAccessKeyId>ci-deployer-key-0001</AWSAccessKeyId>", ["ci-deployer-key-0001"]),
    # Found by the second tester: the separator escaped, the run of hex made longer.
    (f"AccessDeniedException: signature%3d{SIGNATURE}", [SIGNATURE]),
    (f"AccessDeniedException: Signature\\u003d{SIGNATURE}", [SIGNATURE]),
    (
        "bad key " + HOSTILE_SECRET.replace("/", "\\u002f").replace("+", "\\u002b"),
        [HOSTILE_SECRET],
    ),
]


@settings(max_examples=300, deadline=None)
@given(message=messages())
@example(message=(REPORTED, [TOKEN, KEY_ID, SIGNATURE]))
@example(message=ECHOES[0])
@example(message=ECHOES[1])
@example(message=ECHOES[2])
@example(message=ECHOES[3])
@example(message=ECHOES[4])
@example(message=ECHOES[5])
@example(message=ECHOES[6])
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
        # SHA-1 and MD5 digests; a SHA-256 one reads as a SigV4 signature and goes.
        "commit 3f786850e387550fdab836ed7e6dc881de23001b, md5 d41d8cd98f00b204e9800998ecf8427e",
        "s3://firmware-bucket/releases/2024/pump/controller/image-7.bin",
        "s3%3A%2F%2Ffirmware-bucket%2Freleases%2F2024%2Fpump%2Fcontroller%2Fimage-7.bin",
        "<Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>4442587FB7D0A2F9",
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


# Texts no rule takes for a secret (no hex run, no upper case, no secret's name):
# what is cut of them is exactly what the marker says.
_PLAIN = "ghijklmnopqrstuvwxyz .,-\n"
_WORDS = " ".join(["device", "firmware", "failed", "at", "step", "checksum", "mismatch"] * 800)


@settings(max_examples=100, deadline=None)
@given(
    text=st.builds(
        lambda unit, size: (unit * (size // len(unit) + 1))[:size],
        st.text(alphabet=_PLAIN, min_size=1, max_size=40),
        st.integers(min_value=0, max_value=4 * MAX_CHARS),
    ),
    prefix=st.text(alphabet=_PLAIN, max_size=60).map(lambda p: "AccessDeniedException: " + p),
)
@example(text=_WORDS[:5000], prefix="AccessDeniedException: ")
@example(text="x" * 5000, prefix="AccessDeniedException: ")
def test_a_cut_keeps_the_first_max_chars_and_counts_exactly(text: str, prefix: str) -> None:
    """A cut keeps the text's first MAX_CHARS characters and the marker counts the rest;
    a scrubbed text quoted in a longer one (a message in a reason) and scrubbed again
    reads as if scrubbed once."""
    expected = text
    if len(text) > MAX_CHARS:
        expected = f"{text[:MAX_CHARS]}... <{len(text) - MAX_CHARS} characters cut>"
    assert scrub(text) == expected
    assert scrub(prefix + scrub(text)) == scrub(prefix + text)


def test_a_cut_through_a_secret_redacts_it_whole() -> None:
    """The cut falls inside a token: the token is redacted, none of it shown, and the
    marker counts what follows it."""
    text = "x " * (MAX_CHARS // 2 - 10) + f"token {TOKEN} after"
    scrubbed = scrub(text)
    _assert_none_survive([TOKEN], scrubbed)
    assert scrubbed == f"{text[: text.index(TOKEN)]}{'<redacted>'}... <6 characters cut>"


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
@example(message=ECHOES[0])
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


def _chars(value: Any) -> int:
    """The characters a logged value holds: its strings, keys, and one per other value."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_chars(key) + _chars(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return sum(_chars(item) for item in value)
    return 1


#: What the last entry kept may overrun the budget by: a key and a text, each at most
#: MAX_CHARS and markers, and a marker per level of nesting.
_OVERRUN = 2 * (MAX_CHARS + 64) + 21 * 32
# Values are drawn as recipes and built in the test: a recipe prints in a line where a
# value of 1 MB keys and repeated containers would take minutes to print.
_RECIPES = st.recursive(
    st.one_of(
        st.tuples(st.just("text"), st.sampled_from("Kv x"), st.integers(0, 1_000_000)),
        st.tuples(st.just("many"), st.integers(0, 100_000)),
        st.tuples(st.just("number"), st.integers()),
    ),
    lambda children: st.one_of(
        st.tuples(st.just("list"), st.lists(children, max_size=4)),
        st.tuples(
            st.just("map"), st.lists(st.tuples(st.integers(0, 1_000_000), children), max_size=4)
        ),
        st.tuples(st.just("repeat"), children, st.integers(0, 50_000)),
    ),
    max_leaves=12,
)


def _build(recipe: Any) -> Any:
    kind = recipe[0]
    if kind == "text":
        return recipe[1] * recipe[2]
    if kind == "many":
        return {f"k{i}": "v" for i in range(recipe[1])}
    if kind == "number":
        return recipe[1]
    if kind == "list":
        return [_build(child) for child in recipe[1]]
    if kind == "map":
        return {"K" * size + str(i): _build(child) for i, (size, child) in enumerate(recipe[1])}
    return [_build(recipe[1])] * recipe[2]


def _deep(levels: int) -> Any:
    value: Any = {"K" * 100_000: "v" * 100_000}
    for _ in range(levels):
        value = {"K" * 10_000: value, "k": [value] * 3}
    return value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe=_RECIPES)
@example(recipe=("map", [(1_000_000, ("text", "v", 1))]))
@example(recipe=("many", 100_000))
def test_a_logged_value_is_bounded_as_a_whole(recipe: Any) -> None:
    """Huge keys, many entries, deep nesting: a logged value holds at most MAX_VALUE_CHARS
    characters, give or take its last entry."""
    assert _chars(scrub_value(_build(recipe))) <= MAX_VALUE_CHARS + _OVERRUN


def test_a_deeply_nested_value_is_bounded() -> None:
    """40 levels, each with a 10 KB key and the level below three times over."""
    assert _chars(scrub_value(_deep(40))) <= MAX_VALUE_CHARS + _OVERRUN


def test_an_elided_container_says_how_many_entries_it_left_out() -> None:
    """The marker counts exactly the entries and items left out."""
    many = {f"k{i}": "v" for i in range(100_000)}
    mapping = scrub_value({"map": many})["map"]
    kept = len(mapping) - 1
    assert mapping["..."] == f"<{100_000 - kept} entries left out>"
    assert all(mapping[f"k{i}"] == "v" for i in range(kept))
    items = scrub_value(["item"] * 100_000)
    assert items[-1] == f"<{100_000 - (len(items) - 1)} items left out>"


def test_keys_are_scrubbed_like_values() -> None:
    """A secret, or 1 MB, in a key: redacted and cut; keys that scrub alike both stay."""
    scrubbed = scrub_value({f"sig {SIGNATURE}": 1, f"token={TOKEN}": 2, "K" * 1_000_000: 3})
    _assert_none_survive([SIGNATURE, TOKEN], json.dumps(scrubbed))
    assert sorted(scrubbed.values()) == [1, 2, 3]
    assert all(len(key) <= MAX_CHARS + 40 for key in scrubbed)


@pytest.mark.parametrize(
    "details",
    [{"K" * 1_000_000: "v"}, {f"k{i}": "v" for i in range(100_000)}],
    ids=["a 1 MB key", "100,000 entries"],
)
def test_a_huge_answer_makes_no_huge_log_line(details: dict[str, str]) -> None:
    """The reported answers, with responses logged: every log event is bounded."""
    failed = {"status": "FAILED", "statusDetails": {"detailsMap": details}}
    outcome, _, logs = _wait_on([status_response(JOB, "FAILED", execution=failed)])
    assert outcome is not None and outcome.kind is OutcomeKind.FAILED
    assert any(event["event"] == "waiters.poll" and "response" in event for event in logs)
    for event in logs:
        assert len(json.dumps(event, default=str)) <= MAX_VALUE_CHARS + _OVERRUN
