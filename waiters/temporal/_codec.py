"""A payload codec that compresses large payloads, and the data converter that uses it.

Temporal refuses a payload over 2 MB (and a gRPC message over 4 MB). A
rollout's input, its shards' inputs and reports, and its result are JSON
that repeats the same few names, which zlib shrinks manyfold: with this
codec on the client that starts a rollout and on every worker, a rollout
of 100,000 IoT job executions named one by one (13.9 MB of JSON) travels
as 300 kB, and as :class:`~waiters.temporal.TargetGroup` s (1.4 MB) as
19 kB (measured). Groups and the packed outcomes keep payloads under the
limit without it, with less room; the codec is what makes targets named one
by one fit.

Payloads under :data:`COMPRESS_ABOVE` bytes are left as they are, and a
payload this codec did not compress is decoded as it is: a client without
the codec can still start a small rollout on a worker with it, but reading
a large result needs it.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

__all__ = ["COMPRESS_ABOVE", "DATA_CONVERTER", "ENCODING", "ZlibCodec"]

#: The ``encoding`` metadata of a payload this codec compressed.
ENCODING = b"binary/zlib"

#: Payloads of at most this many bytes are not compressed: a compressed
#: small payload saves next to nothing, and any client can read it as it is.
COMPRESS_ABOVE = 16 * 1024


class ZlibCodec(PayloadCodec):
    """Compress each payload over *above* bytes with zlib; decode what it compressed.

    :param above: the size in bytes a payload must exceed to be compressed
        (default :data:`COMPRESS_ABOVE`).
    :param level: zlib's level, 1 (fastest) to 9 (smallest) (default 6).
    :raises ValueError: *above* negative or *level* out of range, naming it.
    """

    def __init__(self, *, above: int = COMPRESS_ABOVE, level: int = 6) -> None:
        if isinstance(above, bool) or not isinstance(above, int) or above < 0:
            raise ValueError(f"ZlibCodec.above must be a whole number of bytes >= 0, got {above!r}")
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 9:
            raise ValueError(f"ZlibCodec.level must be 1 to 9, got {level!r}")
        self.above = above
        self.level = level

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Each payload, compressed if it is over :attr:`above` bytes."""
        encoded = []
        for payload in payloads:
            raw = payload.SerializeToString()
            if len(raw) <= self.above:
                encoded.append(payload)
                continue
            encoded.append(
                Payload(metadata={"encoding": ENCODING}, data=zlib.compress(raw, self.level))
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Each payload as it was before :meth:`encode`.

        :raises ValueError: a payload marked compressed that does not decompress.
        """
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)
                continue
            try:
                decoded.append(Payload.FromString(zlib.decompress(payload.data)))
            except zlib.error as exc:
                marked = ENCODING.decode()
                raise ValueError(f"a payload marked {marked} is corrupt: {exc}") from None
        return decoded


#: Temporal's default data converter with :class:`ZlibCodec`: pass it as
#: ``Client.connect(..., data_converter=DATA_CONVERTER)`` where rollouts are
#: started and in every worker (``python -m waiters.temporal`` does).
DATA_CONVERTER = dataclasses.replace(DataConverter.default, payload_codec=ZlibCodec())
