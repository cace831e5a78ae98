"""docs/configuration.md is generated from `shared.settings.Settings` (lso/config_doc.py): the
committed page must be exactly what the generator renders now."""

import pytest

from lso import config_doc
from shared.settings import Settings


def test_the_configuration_page_is_what_the_generator_renders() -> None:
    assert config_doc.DOC.read_text() == config_doc.render(), (
        "docs/configuration.md is out of date: run `.venv/bin/python -m lso.config_doc --write`"
    )


def test_the_page_has_one_row_per_setting_with_its_description() -> None:
    page = config_doc.render()
    for name, field in Settings.model_fields.items():
        row = next(line for line in page.splitlines() if line.startswith(f"| `LSO_{name.upper()}`"))
        assert (field.description or "") in row.replace("\\|", "|")


def test_without_write_the_generator_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert config_doc.main([]) == 0
    assert capsys.readouterr().out == config_doc.render()
