"""The CLI prints a HealthForgeError's text as written: rich markup in it is not applied."""

from __future__ import annotations

import pytest
import typer

from healthforge.cli.common import handle_errors
from healthforge.errors import HealthForgeError


def test_brackets_in_a_message_and_hint_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    @handle_errors
    def command() -> None:
        raise HealthForgeError("the [ray] extra is not installed", "pip install 'healthforge[ray]'")

    with pytest.raises(typer.Exit) as exit_info:
        command()
    assert exit_info.value.exit_code == 2
    err = capsys.readouterr().err
    assert "the [ray] extra is not installed" in err
    assert "pip install 'healthforge[ray]'" in err
