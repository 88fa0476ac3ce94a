"""Every area's CLI is mounted under `kikan` (the mount skips nothing once all areas exist)."""
import importlib

from typer.testing import CliRunner

from kikan_hub.api.cli import app
from kikan_hub.api.cli_support import SUBCOMMANDS


def test_every_subcommand_module_exists_and_is_mounted():
    for name, module, attr, _kind in SUBCOMMANDS:
        assert hasattr(importlib.import_module(module), attr), (module, attr)
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name, *_ in SUBCOMMANDS + (("rehearse",), ("runs",)):
        assert f" {name} " in result.output, name


def test_unknown_option_is_a_usage_error_without_traceback():
    result = CliRunner().invoke(app, ["rehearse", "--no-such-option"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
