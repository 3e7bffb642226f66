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
from urllib.parse import unquote

__all__ = ["MAX_CHARS", "MAX_VALUE_CHARS", "REDACTED", "scrub", "scrub_exception", "scrub_value"]

REDACTED = "<redacted>"

#: The most characters of one text that leave the package: an error message
#: quoting a whole canonical request fits, and so does any identifier AWS
#: defines (an ARN is at most 2,048); a 10 MB status string does not. The
#: command line echoes the same many (``waiters.cli``'s ``ECHO_LIMIT``).
MAX_CHARS = 2048

#: The most characters, about, of one structured value that is logged (an
#: event's fields, a response with ``log_responses``), counted as its strings,
#: keys and numbers would print: past it, each container keeps the entries
#: that fit and one marker saying how many were left out. The last entry kept
#: may overrun it by one key and one text (each at most about MAX_CHARS).
MAX_VALUE_CHARS = 32 * 1024

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
# The separator as a service may escape it: URL-encoded (either case of hex) or
# JSON's \u003d.
_SEPARATOR = r"(?:[:=]|%3[AaDd]|\\u003[AaDd])"
_NAMED = re.compile(rf"(?i)({_CONFIDENTIAL_NAMES})([\"']?\s*{_SEPARATOR}\s*[\"']?)([^\s\"',;&<>]+)")
# An Authorization header's whole value (its scheme, credential and signature).
_AUTHORIZATION = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*)([^\r\n\"']+)")
# An XML element's text (up to the next tag: XML escapes ``<`` in text). S3
# answers a signature mismatch with ``<SignatureProvided>``, ``<StringToSign>``,
# ``<CanonicalRequest>`` and ``<AWSAccessKeyId>``; STS with ``<SessionToken>``.
_XML_ELEMENT = re.compile(r"<([A-Za-z_][\w.:-]*)(?:\s[^<>]*)?>([^<]+)")
# Tag names whose text is a secret (or quotes one): they name a signature, a
# credential, a token, a key, a secret or a password, or what SigV4 signs.
_XML_SECRET_TAG = re.compile(
    r"(?i)signature|credential|token|key|secret|password|stringtosign|canonicalrequest"
)
_XML_WORDS = (
    "signature",
    "credential",
    "token",
    "key",
    "secret",
    "password",
    "tosign",
    "canonical",
)
# AWS access key ids (AKIA long-term, ASIA temporary, and the other unique-id prefixes).
_KEY_PREFIXES = (
    "AKIA", "ASIA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "AGPA", "ABIA", "ACCA", "APKA", "ASCA"
)  # fmt: skip
_KEY_ID = re.compile(rf"(?<![A-Z0-9])(?:{'|'.join(_KEY_PREFIXES)})[A-Z0-9]{{16}}(?![A-Z0-9])")
# A run of 40 or more base64 characters: a secret access key (40), a session
# token (hundreds), also as a service may echo them URL-encoded (``%2F``) or
# JSON-escaped (``\/``); each escape counts as the one character it stands for.
# Redacted when it mixes upper and lower case once decoded, as random base64
# does (all but one in a billion 40-character keys): long lower-case paths and
# numbers stay readable, URL-encoded or not.
_RUN = re.compile(
    r"(?<![A-Za-z0-9+/])(?:[A-Za-z0-9+/]|%[0-9A-Fa-f]{2}|\\/|\\u00[0-9A-Fa-f]{2}){40,}"
    r"(?:=|%3[Dd]|\\u003[Dd]){0,2}(?![A-Za-z0-9+/])"
)
# A run of exactly 64 hex digits: a SigV4 signature, which a service may echo
# bare (a detail quoting the request's own signature). A SHA-256 digest reads
# the same and goes too; other digests (SHA-1, MD5, SHA-512) and longer runs stay.
_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])")
# The marker an earlier cut left (a message scrubbed, then quoted in a reason).
_CUT_MARKER = re.compile(r"\.\.\. <(\d+) characters cut>\Z")

# Every secret name holds one of these words; no text shorter than
# ``password=x`` holds a secret.
_NAME_WORDS = ("token", "signature", "credential", "key", "password")
_SHORTEST = len("password=x")
_KEY_ID_LENGTH = 20
_RUN_LENGTH = 40
_HEX_LENGTH = 64
# How far past the cut secrets are looked for, so that one straddling the
# cut is recognised whole: longer than any session token AWS issues; a longer
# run is recognised from its first LOOKAHEAD characters alone.
_LOOKAHEAD = 8192


_JSON_ESCAPE = re.compile(r"\\u00([0-9A-Fa-f]{2})")


def _random_looking(run: str) -> bool:
    decoded = unquote(_JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), run.replace("\\/", "/")))
    return any(c.isupper() for c in decoded) and any(c.islower() for c in decoded)


def _secret_spans(text: str) -> list[tuple[int, int]]:
    """Where *text* holds secrets (and earlier redactions): sorted, merged ``(start, end)``."""
    if len(text) < _SHORTEST:
        return []
    spans: list[tuple[int, int]] = []
    # Cheap tests first: most texts are short and name no secret.
    lower = text.lower()
    if "authorization" in lower:
        spans += (m.span(2) for m in _AUTHORIZATION.finditer(text))
    if any(word in lower for word in _NAME_WORDS):
        spans += (m.span(3) for m in _NAMED.finditer(text))
    if "<" in text and any(word in lower for word in _XML_WORDS):
        spans += (
            m.span(2) for m in _XML_ELEMENT.finditer(text) if _XML_SECRET_TAG.search(m.group(1))
        )
    if len(text) >= _KEY_ID_LENGTH and any(prefix in text for prefix in _KEY_PREFIXES):
        spans += (m.span() for m in _KEY_ID.finditer(text))
    if len(text) >= _RUN_LENGTH:
        spans += (m.span() for m in _RUN.finditer(text) if _random_looking(m.group(0)))
    if len(text) >= _HEX_LENGTH:
        spans += (m.span() for m in _HEX_RUN.finditer(text))
    if REDACTED in text:
        # A text scrubbed before: a cut must not split its markers either.
        start = text.find(REDACTED)
        while start >= 0:
            spans.append((start, start + len(REDACTED)))
            start = text.find(REDACTED, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def scrub(text: str) -> str:
    """*text* without credentials, tokens or signatures, and at most about MAX_CHARS long.

    Redacted wherever they stand, as a service may echo them: access key ids,
    secret keys and session tokens (plain, URL-encoded, JSON-escaped, base64),
    SigV4 signatures (any run of exactly 64 hex digits), the values of secret names
    (``Signature=``, ``x-amz-security-token:``, ``"SecretAccessKey": ``...),
    Authorization headers, and the text of XML elements whose tag names a
    signature, credential, token, key, secret or password (``<SignatureProvided>``,
    ``<StringToSign>``, ``<CanonicalRequest>``, ``<AWSAccessKeyId>``).

    A longer text keeps its first MAX_CHARS characters, secrets redacted (a
    secret the cut falls in is redacted whole), and ends with a marker
    ``... <N characters cut>`` where N is exactly how many characters of the
    text are not shown; a text already ending in such a marker (scrubbed, then
    quoted) counts what that cut left out too.

    :param text: a message, reason or value in words.
    :returns: the text as it may leave the package: at most MAX_CHARS characters
        plus one ``<redacted>`` and the marker.
    """
    carried = 0
    if len(text) > MAX_CHARS:
        marker = _CUT_MARKER.search(text, len(text) - 40)
        if marker is not None:
            carried = int(marker.group(1))
            text = text[: marker.start()]
    window = text[: MAX_CHARS + _LOOKAHEAD]
    spans = _secret_spans(window)
    keep = len(text)
    if keep > MAX_CHARS:
        keep = MAX_CHARS
        for start, end in spans:
            if start < keep < end:
                keep = end
    parts: list[str] = []
    shown = 0
    for start, end in spans:
        if start >= keep:
            break
        parts += (window[shown:start], REDACTED)
        shown = end
    parts.append(window[shown:keep])
    cut = len(text) - keep + carried
    if cut:
        parts.append(f"... <{cut} characters cut>")
    return "".join(parts)


def scrub_value(value: Any) -> Any:
    """*value* scrubbed and bounded as a whole: strings, mappings, lists, tuples and bytes.

    Every string, mapping keys included, leaves through :func:`scrub` (so a
    key is cut like a value). The whole value holds about MAX_VALUE_CHARS
    characters at most: once they are spent, a mapping ends with the entry
    ``"..."`` whose value says ``<N entries left out>``, a list or tuple with
    the item ``<N items left out>``. Bytes become their scrubbed ``repr``
    (bounded the same way); exceptions their scrubbed text; past 20 levels of
    nesting the rest becomes ``<nested too deep>``. Other values (numbers,
    None, objects) are kept as they are.

    :param value: an event's fields, a response, a parameter.
    :returns: a copy safe to log.
    """
    return _bounded(value, MAX_VALUE_CHARS, 0)[0]


# What a value kept as it is counts against the budget: its digits if it is
# an integer (a service may answer with thousands), else about a number's.
_OTHER_COST = 24
_MAX_DEPTH = 20


def _bounded(value: Any, budget: int, depth: int) -> tuple[Any, int]:
    """*value* scrubbed, spending about *budget* characters: ``(copy, characters spent)``."""
    if isinstance(value, str):
        text = scrub(value)
        return text, len(text) + 2
    if isinstance(value, bytes | bytearray):
        # A blob (a command's payload) prints as its repr: only its head is ever shown.
        text = scrub(repr(bytes(value[:MAX_CHARS])))
        if len(value) > MAX_CHARS:
            text += f"... <{len(value) - MAX_CHARS} bytes cut>"
        return text, len(text)
    if isinstance(value, BaseException):
        text = scrub(f"{type(value).__name__}: {value}")
        return text, len(text) + 2
    if isinstance(value, Mapping | list | tuple) and depth > _MAX_DEPTH:
        return "<nested too deep>", 19
    if isinstance(value, Mapping):
        mapping: dict[Any, Any] = {}
        spent = 2
        for index, (key, item) in enumerate(value.items()):
            if spent >= budget:
                mapping["..."] = f"<{len(value) - index} entries left out>"
                break
            if isinstance(key, str):
                key = scrub(key)
                while key in mapping:
                    # Two keys the same once scrubbed (both redacted, both cut): keep both.
                    key += "'"
            spent += len(key) + 6 if isinstance(key, str) else _OTHER_COST
            mapping[key], cost = _bounded(item, budget - spent, depth + 1)
            spent += cost
        return mapping, spent
    if isinstance(value, list | tuple):
        items: list[Any] = []
        spent = 2
        for index, item in enumerate(value):
            if spent >= budget:
                items.append(f"<{len(value) - index} items left out>")
                break
            kept, cost = _bounded(item, budget - spent, depth + 1)
            items.append(kept)
            spent += cost + 2
        return (tuple(items) if isinstance(value, tuple) else items), spent
    if isinstance(value, int) and not isinstance(value, bool):
        return value, 2 + value.bit_length() * 3 // 10
    return value, _OTHER_COST


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
