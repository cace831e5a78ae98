"""shared/store/keys.py owns every name in the store: the purge's list covers every per-system key,
and the Lua scripts spell no field that keys.py does not list."""

import fnmatch
import inspect
import re
from importlib import resources

from shared.model.events import RUN_END
from shared.store import keys

PARTITION, SYSTEM_ID = 3, 42
# Per-system keys that must outlive a purge, on purpose.
KEPT_AFTER_PURGE = {"deleted"}


def _per_system_builders() -> dict[str, str]:
    """Every key builder of keys.py that takes (partition, system_id, ...), called once."""
    built = {}
    for name, fn in inspect.getmembers(keys, inspect.isfunction):
        params = list(inspect.signature(fn).parameters)
        if params[:2] != ["partition", "system_id"] or fn.__module__ != keys.__name__:
            continue
        if name in ("system_keys", "system_patterns"):
            continue
        extra = {p: ("x" if p.endswith("_id") or p == "key" else 7) for p in params[2:]}
        built[name] = fn(PARTITION, SYSTEM_ID, **extra)
    return built


def test_the_purge_covers_every_per_system_key_builder() -> None:
    fixed = set(keys.system_keys(PARTITION, SYSTEM_ID))
    patterns = keys.system_patterns(PARTITION, SYSTEM_ID)
    builders = _per_system_builders()
    assert len(builders) >= 12  # the scan found the builders, not nothing
    uncovered = [
        name
        for name, key in builders.items()
        if key not in fixed
        and not any(fnmatch.fnmatchcase(key, p) for p in patterns)
        and name not in KEPT_AFTER_PURGE
    ]
    assert uncovered == []


def test_purge_lists_hold_only_keys_of_that_system() -> None:
    for key in [
        *keys.system_keys(PARTITION, SYSTEM_ID),
        *keys.system_patterns(PARTITION, SYSTEM_ID),
    ]:
        assert key.startswith(f"lso:{{p{PARTITION}}}:") and f":{SYSTEM_ID}" in key
    other = keys.system_keys(PARTITION, SYSTEM_ID + 1)
    assert not set(other) & set(keys.system_keys(PARTITION, SYSTEM_ID))


def _field_names() -> set[str]:
    names: set[str] = {keys.COUNT_FIELD, keys.ERRORS_FIELD}
    for holder in (keys.Meta, keys.PartitionStats, keys.RateBucket, keys.RunSummary,
                   keys.VerdictState, keys.TransitionEntry, keys.DeadLetterEntry,
                   keys.OpenGroup):  # fmt: skip
        names |= {v for k, v in vars(holder).items() if k.isupper() and isinstance(v, str)}
    names |= {v.decode() for k, v in vars(keys.BatchEntry).items() if k.isupper()}
    return names


# Quoted words in the scripts that are not store names: commands, their options, type names,
# verdict and status words, and the pieces of built strings.
NOT_NAMES = {
    "", " ", "*", "~", "-", "-inf", "(", ":", ", ", "0", "1", "NX", "GT", "EX", "MAXLEN",
    "WRONGTYPE ", "hash", "zset", "string", "stream", "none", "set", "ok", "OK", "queued",
    "current", "muted", "flapping", "upstream", "releasing", "drop", " is a ", ", expected ", "a",
    "f",
    "join", "close", "g",  # group.lua's operations and its group ids' prefix
    RUN_END,  # an event type (shared/model/events.py), not a store name
}  # fmt: skip


def test_the_lua_scripts_spell_only_names_that_keys_py_lists() -> None:
    fields = _field_names()
    unknown = {}
    for script in resources.files("shared.store").joinpath("lua").iterdir():
        code = re.sub(r"--.*", "", script.read_text())  # comments are prose
        for word in re.findall(r"'([^']*)'", code):
            if word.isupper() and word.isalpha():  # a command
                continue
            if word in NOT_NAMES or word in fields:
                continue
            if word.startswith(keys.DeadLetterEntry.ORIGINAL_PREFIX) and word[2:] in fields:
                continue
            unknown.setdefault(script.name, set()).add(word)
    assert unknown == {}


def test_undelivered_members_round_trip() -> None:
    member = keys.undelivered_member(42, "42-1700000000000-3")
    assert keys.parse_undelivered_member(member) == (42, "42-1700000000000-3")
