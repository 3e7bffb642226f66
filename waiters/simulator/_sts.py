"""STS ``GetCallerIdentity``: which account a request's access key belongs to.

AWS quotas are per account and region, so a poller keys its rate budgets by
the account of the credentials it calls with, and learns that account once
per credentials from ``GetCallerIdentity``. The simulator answers it so that
tests can give several access keys one account, or one account each
(``Fleet.accounts``).

STS speaks the ``query`` protocol (a form body, an XML answer), unlike the
JSON services the rest of the simulator serves, and needs none of their
machinery: one action, no parameters.
"""

from __future__ import annotations

import hashlib
from typing import Final
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

__all__ = ["STS_XMLNS", "caller_identity", "sts_error"]

#: botocore's sts model: ``"xmlNamespace":"https://sts.amazonaws.com/doc/2011-06-15/"``.
STS_XMLNS: Final = "https://sts.amazonaws.com/doc/2011-06-15/"


def caller_identity(
    body: bytes, access_key: str, account: str, request_id: str
) -> tuple[int, bytes]:
    """The status and XML body answering one STS request."""
    action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
    if action != "GetCallerIdentity":
        return sts_error("InvalidAction", f"Could not find operation {action}", request_id)
    user = f"AIDA{hashlib.sha256(access_key.encode()).hexdigest()[:16].upper()}"
    return 200, (
        f'<GetCallerIdentityResponse xmlns="{STS_XMLNS}">'
        "<GetCallerIdentityResult>"
        f"<Arn>arn:aws:iam::{account}:user/simulator</Arn>"
        f"<UserId>{user}</UserId>"
        f"<Account>{account}</Account>"
        "</GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    ).encode()


def sts_error(code: str, message: str, request_id: str) -> tuple[int, bytes]:
    """A query-protocol error answer, as STS sends it."""
    return 400, (
        f'<ErrorResponse xmlns="{STS_XMLNS}">'
        f"<Error><Type>Sender</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{escape(request_id)}</RequestId>"
        "</ErrorResponse>"
    ).encode()
