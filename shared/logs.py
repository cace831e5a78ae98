"""Logging set-up shared by every LSO process: one format, `lso.<component>` logger names, and the
request id of the request being served (`-` outside requests)."""

import contextvars
import logging

# Set by the API per request (api/middleware/request_ids.py); read by every log record.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s[%(process)d] rid=%(request_id)s %(message)s"
        )
    )
    logging.basicConfig(level=level.upper(), handlers=[handler])
