"""moto's server, the AWS-compatible server nobody here wrote, for the tests that need one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import boto3
from moto import server as moto_server

__all__ = ["moto_queue", "moto_running"]


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


@contextmanager
def moto_queue(name: str) -> Iterator[tuple[str, str, Any]]:
    """moto's server with one SQS queue: its endpoint, the queue's URL and a boto3 client."""
    with moto_running() as endpoint:
        client = boto3.client(
            "sqs",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        with closing(client):
            yield endpoint, client.create_queue(QueueName=name)["QueueUrl"], client
