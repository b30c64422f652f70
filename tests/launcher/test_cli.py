"""The ``fusion`` command: help, defaults and exit codes everywhere; bad input refused early."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from fusion.testing.paths import MBZ_FIXTURES
from launcher.cli import GROUPS, cli, main
from launcher.registry import settings_classes

SECRET = "Zq8mW3xV7cN1bT5yK9pL2rF6hJ4dS0gA"


def _commands(group: click.Group, ctx: click.Context) -> list[tuple[str, click.Command]]:
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        found.append((f"{ctx.command_path} {name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, click.Context(command, info_name=name, parent=ctx))
    return found


def _all() -> list[tuple[str, click.Command]]:
    return _commands(cli, click.Context(cli, info_name="fusion"))


def test_every_group_of_the_table_is_a_command() -> None:
    names = {path for path, _ in _all()}
    assert {f"fusion {group}" for group in GROUPS} <= names


def test_every_option_has_help_and_every_command_a_description() -> None:
    missing = [
        f"{path} {param.name}"
        for path, command in _all()
        for param in command.params
        if isinstance(param, click.Option) and not param.help
    ]
    assert missing == []
    assert [path for path, command in _all() if not command.help] == []


@pytest.mark.parametrize("path", [p for p, _ in _all()])
def test_help_of_every_command_exits_0_and_names_it(
    path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*path.split()[1:], "--help"]) == 0
    assert f"Usage: {path}" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("fusion, version ")


def test_a_port_out_of_range_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "var"
    assert main(["run", "--port", "99999", "--data-dir", str(data)]) == 2
    assert "--port" in capsys.readouterr().err
    assert not data.exists()


def test_run_is_refused_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FUSION_ENVIRONMENT", "production")
    data = tmp_path / "var"
    assert main(["run", "--data-dir", str(data)]) == 2
    assert "FUSION_ENVIRONMENT=production" in capsys.readouterr().err
    assert not data.exists()


def test_an_unknown_target_release_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    backup = MBZ_FIXTURES / "moodle_311_quiz.mbz"
    assert main(["backup", "analyse", str(backup), "--target-release", "banana"]) == 2
    assert "--target-release" in capsys.readouterr().err


def test_a_refused_production_start_prints_no_part_of_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token pasted where its hash belongs, a real-looking Moodle token, a broker password:
    the refusal names the variables and shows no 12 characters of any of them."""
    monkeypatch.setenv("FUSION_ENVIRONMENT", "production")
    monkeypatch.setenv(
        "FUSION_TOKENS", json.dumps([{"client": "a", "role": "admin", "sha256": SECRET}])
    )
    monkeypatch.setenv("FUSION_SYNC_MOODLE_TOKEN", SECRET[::-1])
    monkeypatch.setenv("FUSION_BUS_URL", f"amqp://fusion:{SECRET[5:25]}@127.0.0.1:5672/")
    monkeypatch.setenv("FUSION_SYNC_MOODLE_CONCURRENCY", SECRET)
    assert main(["serve", "enrolment_sync"]) == 2
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "FUSION_TOKENS[0].sha256" in output
    assert "FUSION_SYNC_MOODLE_CONCURRENCY" in output
    assert "Traceback" not in output
    for secret in (SECRET, SECRET[::-1]):
        assert not [
            part for part in (secret[i : i + 12] for i in range(len(secret) - 11)) if part in output
        ]


def test_token_create_answers_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "--client", "moodle-ub1", "--role", "plugin", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["entry"]["client"] == "moodle-ub1"
    assert len(answer["entry"]["sha256"]) == 64


def test_settings_reference_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "--json"]) == 0
    sections = json.loads(capsys.readouterr().out)
    names = {s["name"] for rows in sections.values() for s in rows}
    assert {"FUSION_SYNC_APOGEE_TOKEN", "FUSION_TOKENS", "FUSION_APOGEE_DATABASE_URL"} <= names


def test_every_service_names_itself_in_its_metrics_and_logs() -> None:
    """The relay labels its outbox metrics with ``service_name``: the kit's default ("fusion")
    would merge two services' series on the dashboard."""
    assert {name: cls.service_name for name, cls in settings_classes().items()} == {
        name: name for name in settings_classes()
    }
