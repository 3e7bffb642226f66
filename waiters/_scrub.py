"""What the package says in words leaves without secrets, and bounded.

Services quote requests back in their error messages (a signature mismatch
quotes the canonical request, session token and all) and answer with
whatever text they hold. Every reason, exception message and log event this
package emits passes through :func:`scrub`: ``WaiterError`` (message and
reason), ``Outcome`` (reason), the ``Events`` logger (every value of every
event), a state no definition knows, and the exception a call raised before
an outcome keeps it. This module owns the rule, so there is one list of what
a secret looks like and one bound on length.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_CHARS", "REDACTED", "scrub", "scrub_exception", "scrub_value"]

REDACTED = "<redacted>"

#: The most characters of one text that leave the package: an error message
#: quoting a whole canonical request fits, and so does any identifier AWS
#: defines (an ARN is at most 2,048); a 10 MB status string does not. The
#: command line echoes the same many (``waiters.cli``'s ``ECHO_LIMIT``).
MAX_CHARS = 2048

# Names whose value is a secret wherever it is written ``name=value``,
# (glued to what precedes them or not: ``X-Amz-Signature``, ``mySignature``),
# ``name: value`` or ``"name": "value"``: SigV4's query parameters and
# headers (a canonical request lists ``x-amz-security-token:...``), the
# credential file's and environment's keys, STS's credential members.
_CONFIDENTIAL_NAMES = (
    r"x-amz-security-token|x-amz-signature|x-amz-credential|signature|credential"
    r"|aws[_-]?secret[_-]?access[_-]?key|aws[_-]?session[_-]?token|aws[_-]?access[_-]?key[_-]?id"
    r"|secret[_-]?access[_-]?key|session[_-]?token|security[_-]?token|access[_-]?key[_-]?id"
    r"|secret[_-]?key|password"
)
_NAMED = re.compile(rf"(?i)({_CONFIDENTIAL_NAMES})([\"']?\s*[:=]\s*[\"']?)([^\s\"',;&<>]+)")
# An Authorization header's whole value (its scheme, credential and signature).
_AUTHORIZATION = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*)([^\r\n\"']+)")
# AWS access key ids (AKIA long-term, ASIA temporary, and the other unique-id prefixes).
_KEY_PREFIXES = (
    "AKIA", "ASIA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "AGPA", "ABIA", "ACCA", "APKA", "ASCA"
)  # fmt: skip
_KEY_ID = re.compile(rf"(?<![A-Z0-9])(?:{'|'.join(_KEY_PREFIXES)})[A-Z0-9]{{16}}(?![A-Z0-9])")
# A run of 40 or more base64 characters: a secret access key (40), a session
# token (hundreds). Redacted when it mixes upper and lower case, as random
# base64 does (all but one in a billion 40-character keys): hex digests, long
# lower-case paths and numbers stay readable.
_RUN = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/])")


# Every secret name holds one of these words; no text shorter than
# ``password=x`` holds a secret.
_NAME_WORDS = ("token", "signature", "credential", "key", "password")
_SHORTEST = len("password=x")
_KEY_ID_LENGTH = 20
_RUN_LENGTH = 40


def _random_looking(match: re.Match[str]) -> str:
    run = match.group(0)
    if any(c.isupper() for c in run) and any(c.islower() for c in run):
        return REDACTED
    return run


def scrub(text: str) -> str:
    """*text* without credentials, tokens or signatures, and at most about MAX_CHARS long.

    A longer text keeps its first MAX_CHARS characters, less the word the cut
    fell in (it may be part of a secret), and ends with a marker saying how
    many characters were cut.

    :param text: a message, reason or value in words.
    :returns: the text as it may leave the package.
    """
    cut = 0
    if len(text) > MAX_CHARS:
        head = text[:MAX_CHARS]
        if not text[MAX_CHARS].isspace():
            # The cut fell inside a word, which may be part of a secret: drop it whole.
            head = head[: max(head.rfind(space) for space in " \t\r\n") + 1]
        cut = len(text) - len(head)
        text = head
    if len(text) >= _SHORTEST:
        # Cheap tests first: most texts are short and name no secret.
        lower = text.lower()
        if "authorization" in lower:
            text = _AUTHORIZATION.sub(lambda m: m.group(1) + REDACTED, text)
        if any(word in lower for word in _NAME_WORDS):
            text = _NAMED.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
        if len(text) >= _KEY_ID_LENGTH and any(prefix in text for prefix in _KEY_PREFIXES):
            text = _KEY_ID.sub(REDACTED, text)
        if len(text) >= _RUN_LENGTH:
            text = _RUN.sub(_random_looking, text)
    if cut:
        text += f"... <{cut} characters cut>"
    return text


def scrub_value(value: Any, depth: int = 0) -> Any:
    """*value* with every string in it scrubbed: strings, mappings, lists and tuples.

    Other values (numbers, None, objects) are kept as they are, except
    exceptions, which become their scrubbed text; past 20 levels of nesting
    the rest becomes a marker.
    """
    if isinstance(value, str):
        return scrub(value)
    if depth > 20:
        return "<nested too deep>"
    if isinstance(value, Mapping):
        return {key: scrub_value(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_value(item, depth + 1) for item in value)
    if isinstance(value, BaseException):
        return scrub(f"{type(value).__name__}: {value}")
    return value


def scrub_exception(exc: BaseException) -> BaseException:
    """Scrub *exc*'s text in place (its arguments; a botocore error's message) and return it.

    The exception a call raised is kept by the outcome (``Outcome.error``) and
    chained under the raised error (``__cause__``), where a traceback prints it.
    """
    exc.args = tuple(scrub(arg) if isinstance(arg, str) else arg for arg in exc.args)
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        if isinstance(error, dict) and isinstance(error.get("Message"), str):
            error["Message"] = scrub(error["Message"])
    return exc
