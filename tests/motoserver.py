"""moto's server, the AWS-compatible server nobody here wrote, for the tests that need one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from moto import server as moto_server

__all__ = ["moto_running"]


@contextmanager
def moto_running() -> Iterator[str]:
    """moto's server on 127.0.0.1 (a free port): its endpoint URL; stopped on exit."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
