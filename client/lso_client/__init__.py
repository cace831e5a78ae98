"""lso-client: report a pipeline's events, runs and stages to LSO (client/README.md)."""

from lso_client.aio import AsyncLSOClient
from lso_client.client import LSOClient
from lso_client.config import Config
from lso_client.runs import Run, Stage, current_run, stage
from lso_client.version import __version__

__all__ = [
    "AsyncLSOClient",
    "Config",
    "LSOClient",
    "Run",
    "Stage",
    "__version__",
    "current_run",
    "stage",
]
