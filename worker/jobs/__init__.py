"""Background jobs run by rq beside the stream workers (`lso jobs`): health evaluation and
transitions, notification delivery, retention and purges. Nothing here is on the ingest path."""

import shared.store.jobqueue  # noqa: F401  (sets rq's key prefix before any module here imports rq)
