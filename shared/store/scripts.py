"""The Lua sources of LSO's atomic operations (the files in shared/store/lua/)."""

from functools import cache
from importlib import resources


@cache
def source(name: str) -> str:
    return resources.files("shared.store").joinpath("lua", f"{name}.lua").read_text()


REGISTER = "register"
APPLY = "apply"
DEAD_LETTER = "dead_letter"
INGEST = "ingest"
REPLAY = "replay"
LAYOUT = "layout"
TRANSITION = "transition"
NOTIFY = "notify"
