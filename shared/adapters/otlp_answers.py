"""The answers to an OTLP/HTTP export, in the encoding of its request: the Export*ServiceResponse
of a translated request (empty, or partialSuccess counting the items refused and why), and the
google.rpc.Status body of an error. Pure: a Translation (shared/adapters/otlp.py) in, bytes out.
"""

import orjson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from shared.adapters.otlp import Translation


def trace_response(translation: Translation | None, as_json: bool) -> bytes:
    """An ExportTraceServiceResponse: empty for a full success, else partialSuccess."""
    if translation is None or not translation.rejected:
        return b"{}" if as_json else b""
    rejected, message = translation.rejected, translation.message()
    if as_json:
        return orjson.dumps({"partialSuccess": {"rejectedSpans": str(rejected),
                                                "errorMessage": message}})  # fmt: skip
    partial = ExportTracePartialSuccess(rejected_spans=rejected, error_message=message)
    return bytes(ExportTraceServiceResponse(partial_success=partial).SerializeToString())


def logs_response(translation: Translation | None, as_json: bool) -> bytes:
    """An ExportLogsServiceResponse: empty for a full success, else partialSuccess."""
    if translation is None or not translation.rejected:
        return b"{}" if as_json else b""
    rejected, message = translation.rejected, translation.message()
    if as_json:
        return orjson.dumps({"partialSuccess": {"rejectedLogRecords": str(rejected),
                                                "errorMessage": message}})  # fmt: skip
    partial = ExportLogsPartialSuccess(rejected_log_records=rejected, error_message=message)
    return bytes(ExportLogsServiceResponse(partial_success=partial).SerializeToString())


def status(code: int, message: str, as_json: bool) -> bytes:
    """A google.rpc.Status, the body of an OTLP error answer. Encoded by hand: two fields do not
    justify a dependency on googleapis-common-protos."""
    if as_json:
        return orjson.dumps({"code": code, "message": message})
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)
