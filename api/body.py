"""Reading a request body within the size limits, before any parsing.

Both the bytes on the wire and, for `Content-Encoding: gzip`, the decompressed bytes are capped, so
a small gzip bomb cannot expand past the limit (decompression stops at limit + 1 byte).
"""

import zlib

from fastapi import HTTPException, Request
from starlette.requests import ClientDisconnect

JSON_TYPES = ("application/json",)
GZIP_MAGIC = b"\x1f\x8b"


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))


async def read_json_body(request: Request, max_bytes: int) -> bytes:
    """The (decompressed) body; 413 past `max_bytes`, 415 for non-JSON or unknown encodings."""
    content_type = request.headers.get("content-type")
    if content_type is not None and not _is_json(content_type):
        raise HTTPException(415, f"content type must be application/json, not {content_type!r}")
    return await read_body(request, max_bytes)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The (decompressed) body of any content type; 413 past `max_bytes` (on the wire or
    decompressed), 415 for an encoding other than gzip, 400 for broken gzip or a client that left
    before sending it all."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise HTTPException(415, f"unsupported content encoding {encoding!r} (use gzip)")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)

    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            chunks.append(chunk)
    except ClientDisconnect:
        # The client is gone and will never read an answer; nothing was stored. 400, not a 500
        # with a stack trace in the log.
        raise HTTPException(400, "client disconnected before sending the whole body") from None
    body = b"".join(chunks)
    if encoding == "gzip":
        body = _gunzip(body, max_bytes)
    return body


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """The decompressed body. Several gzip members one after another (what `cat a.gz b.gz` makes)
    are one body, as RFC 1952 and `gzip -d` have it; anything else after a member is refused,
    never dropped."""
    out = b""
    rest = data
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(rest, max_bytes + 1 - len(out))
        except zlib.error as exc:
            raise HTTPException(400, f"body is not valid gzip: {exc}") from exc
        if len(out) > max_bytes:
            raise HTTPException(413, f"decompressed body exceeds {max_bytes} bytes")
        if not inflater.eof:
            raise HTTPException(400, "body is not valid gzip: truncated stream")
        rest = inflater.unused_data
        if not rest:
            return out
        if not rest.startswith(GZIP_MAGIC):
            raise HTTPException(400, f"body is not valid gzip: {len(rest)} bytes after the stream")


def _too_large(max_bytes: int) -> HTTPException:
    return HTTPException(413, f"request body exceeds {max_bytes} bytes")
