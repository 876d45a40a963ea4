"""The layers are checked with the tests: pyproject.toml's import-linter contracts must hold."""

from __future__ import annotations

from importlinter import cli

from marketplace.core.config import PROJECT_ROOT


def test_every_module_imports_only_its_own_layer_or_lower_ones(monkeypatch, capsys):
    monkeypatch.chdir(PROJECT_ROOT)
    status = cli.lint_imports(no_cache=True, no_logo=True)
    assert status == cli.EXIT_STATUS_SUCCESS, capsys.readouterr().out
