"""Clients of a service named at run time.

The client stubs type ``client("iot")`` precisely, but only for a literal
service name; the tests loop over the definitions' services, so these
return the client untyped.
"""

from typing import Any

import aioboto3
import boto3

__all__ = ["async_client", "sync_client"]


def sync_client(service: str, **kwargs: Any) -> Any:
    """``boto3.client(service, **kwargs)``."""
    factory: Any = boto3.client
    return factory(service, **kwargs)


def async_client(session: aioboto3.Session, service: str, **kwargs: Any) -> Any:
    """``session.client(service, **kwargs)``: an aioboto3 client's context manager."""
    factory: Any = session.client
    return factory(service, **kwargs)
