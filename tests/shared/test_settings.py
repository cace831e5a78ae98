"""Settings: environment parsing, validation, and the README table kept in step with the code."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_read_from_an_lso_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSO_WINDOW_SECONDS", "600")
    monkeypatch.setenv("LSO_REDIS_URL", "redis://elsewhere:6380/2")
    s = Settings()
    assert (s.window_seconds, s.redis_url) == (600, "redis://elsewhere:6380/2")


@pytest.mark.parametrize(
    "bad",
    [
        {"window_seconds": 5},
        {"degraded_error_rate": 0.6, "unhealthy_error_rate": 0.5},
        {"worker_block_ms": 5000, "claim_idle_ms": 1000},
        {"partitions": 0},
    ],
)
def test_inconsistent_settings_are_refused_at_start(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**bad)  # type: ignore[arg-type]


def test_the_readme_configuration_table_lists_every_setting_with_its_default() -> None:
    rows = re.findall(r"^\| `(LSO_[A-Z_]+)` \| `([^`]*)` \|", README.read_text(), re.M)
    documented = dict(rows)
    fields = {f"LSO_{name.upper()}": str(f.default) for name, f in Settings.model_fields.items()}
    assert documented == fields
