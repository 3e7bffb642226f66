"""A transport that suspends like a socket: each call is a round trip over 127.0.0.1.

The core microbenchmark's client must cost what a real call costs to the
event loop: a write, a wait in the selector until the answer is there, and
a read.  An in-process coroutine that returns at once never suspends, so it
measures none of that.  Here every call sends a fixed-size message over a
loopback TCP connection to an echo peer in another process (so the peer's
CPU is not the client's) and reads the echo back through anyio's streams:
it works the same on asyncio, uvloop and trio.

``python -m benchmarks._loopback`` is the peer: it listens on 127.0.0.1, an
ephemeral port, prints the port on stdout and echoes until its stdin closes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import anyio.abc

__all__ = ["MESSAGE_BYTES", "Loopback", "echo_peer"]

#: Every request and answer: small, like a poll's request line, and of one size
#: so an answer is read without framing.
MESSAGE_BYTES = 16
_MESSAGE = b"describe-please\n"
assert len(_MESSAGE) == MESSAGE_BYTES


@contextmanager
def echo_peer(cpus: set[int] | None = None) -> Iterator[int]:
    """Start the echo peer process; yield its port; stop it on exit.

    :param cpus: the CPUs to pin the peer to (default: those this process
        may not use, when there are any, so the peer does not compete with
        the client; else none).
    :raises RuntimeError: the peer did not say its port.
    """
    peer = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._loopback"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        mine = os.sched_getaffinity(0)
        others = set(range(os.cpu_count() or 1)) - mine
        target = cpus if cpus is not None else others
        if target:
            os.sched_setaffinity(peer.pid, target)
        assert peer.stdout is not None
        line = peer.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"the echo peer said {line!r} instead of its port")
        yield int(line)
    finally:
        if peer.stdin is not None:
            peer.stdin.close()
        try:
            peer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            peer.kill()
            peer.wait()
        if peer.stdout is not None:
            peer.stdout.close()


class Loopback:
    """Round trips to the echo peer over a pool of loopback connections.

    A call takes an idle connection (or opens one: as many as there are calls
    in flight, as an HTTP client's pool does), sends one message and waits
    until the whole echo is read.  Use it inside one event loop run.

    :param port: the echo peer's port on 127.0.0.1.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.round_trips = 0
        self._idle: list[anyio.abc.SocketStream] = []
        self._all: list[anyio.abc.SocketStream] = []

    async def round_trip(self) -> None:
        """Send one message and wait for its echo (the event loop waits in its selector)."""
        stream = self._idle.pop() if self._idle else await self._open()
        await stream.send(_MESSAGE)
        received = 0
        while received < MESSAGE_BYTES:
            received += len(await stream.receive(MESSAGE_BYTES - received))
        # Only a connection whose answer was read whole goes back: one cancelled
        # mid-call may still have bytes in flight.
        self._idle.append(stream)
        self.round_trips += 1

    async def _open(self) -> anyio.abc.SocketStream:
        stream = await anyio.connect_tcp("127.0.0.1", self.port)
        self._all.append(stream)
        return stream

    @property
    def connections(self) -> int:
        """Connections opened so far."""
        return len(self._all)

    async def aclose(self) -> None:
        """Close every connection."""
        for stream in self._all:
            await stream.aclose()
        self._all.clear()
        self._idle.clear()


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._transport.write(data)


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Echo, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Until the parent closes stdin (or dies): read it in a thread, it blocks.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(_serve())
