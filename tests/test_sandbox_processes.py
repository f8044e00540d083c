"""The sandbox served from a process per system (the bench's way): each system's fakes answer from their own
process through the same environment variables, a system of files only leaves no process behind, a system that
cannot start is named, and stopping ends every process."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from connectors.github import GitHubConfig, make_github
from sandbox.launch import start_sandbox

DAY = date(2026, 11, 20)


def test_each_system_answers_from_its_own_process(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path, size=20, today=DAY, systems=("github", "hr"), separate_processes=True)
    try:
        assert sandbox.servers == {}  # nothing is served from this process
        assert len(sandbox.pids()) == 2
        github = make_github(
            GitHubConfig(
                org=sandbox.env["GITHUB_ORG"],
                base_url=sandbox.env["GITHUB_API_URL"],
                token=sandbox.env["GITHUB_TOKEN"],
            )
        )
        names = {repo.name for repo in github.get_organization(sandbox.env["GITHUB_ORG"]).get_repos()}
        assert names == {repo.name for repo in sandbox.org.github.repositories}
        roster = Path(sandbox.env["HR_ROSTER_PATH"])
        assert len(roster.read_text().splitlines()) == len(sandbox.org.systems["hr"].people) + 1
    finally:
        sandbox.stop()
    assert not any(process.process.is_alive() for process in sandbox.processes)


def test_a_system_of_files_only_leaves_no_process(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path, size=5, today=DAY, systems=("hr",), separate_processes=True)
    sandbox.processes[0].process.join(timeout=10)
    assert not sandbox.processes[0].process.is_alive()
    assert Path(sandbox.env["HR_ROSTER_PATH"]).exists()
    sandbox.stop()


def test_a_system_that_cannot_start_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sandbox.hr.serve

    def broken(*_: object, **__: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(sandbox.hr.serve, "start", broken)
    with pytest.raises(RuntimeError, match=r"the sandbox's hr fakes did not start: OSError: disk full"):
        start_sandbox(tmp_path, size=5, today=DAY, systems=("github", "hr"), separate_processes=True)
