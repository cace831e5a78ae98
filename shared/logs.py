"""Logging set-up shared by every LSO process: one format, `lso.<component>` logger names."""

import logging


def configure(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s",
    )
