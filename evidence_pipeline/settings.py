"""Where generated data lives. One folder, one environment variable: EVIDENCE_HOME."""

from __future__ import annotations

import fcntl
import os
import stat
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from provenance.redact import redact_text

DEFAULT_HOME = "evidence-data"
#: the data folder holds personal data (rosters, accounts) and the demo's signing key: owner-only, files 0600 and
#: folders 0700, whatever the user's umask
PRIVATE_UMASK = 0o077
#: every variable holding a URL the pipeline sends requests to (checked by `check_url_settings`)
URL_SETTINGS = (
    "GITHUB_API_URL",
    "AWS_ENDPOINT_URL",
    "GOOGLE_WORKSPACE_API_URL",
    "ENTRA_AUTHORITY_URL",
    "ENTRA_GRAPH_URL",
    "KNOWBE4_API_URL",
    "EVIDENCE_ALERT_WEBHOOK_URL",
)
#: URL settings that are secrets as a whole (a webhook URL is its own credential): never quoted in an error
SECRET_URL_SETTINGS = frozenset({"EVIDENCE_ALERT_WEBHOOK_URL"})
#: the daily partitions' first day (ISO date); unset, the first day collected (`record_first_day`), else today
FIRST_DAY_ENV = "EVIDENCE_FIRST_DAY"


class SettingsError(ValueError):
    """An environment variable is malformed; the message names it."""


@dataclass(frozen=True)
class Paths:
    home: Path

    @classmethod
    def from_env(cls) -> Paths:
        return cls(Path(os.environ.get("EVIDENCE_HOME", DEFAULT_HOME)).resolve())

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def staging(self) -> Path:
        return self.home / "staging"

    @property
    def evidence(self) -> Path:
        return self.home / "evidence"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def first_day_file(self) -> Path:
        """The first day a run was started for, read when the code location loads (DuckDB's lock is the steps')."""
        return self.home / "first_day"

    def make_private(self) -> None:
        """Create the data folder owner-only and make what it already holds owner-only (earlier versions left it
        world-readable); this process's later files are owner-only through the umask (`use_private_umask`)."""
        use_private_umask()
        self.home.mkdir(parents=True, exist_ok=True)
        for path in [self.home, *self.home.rglob("*")]:
            try:
                mode = path.lstat().st_mode
                if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
                    path.chmod(stat.S_IMODE(mode) & 0o700)
            except FileNotFoundError:
                continue  # removed meanwhile (a staging file landed)


def use_private_umask() -> None:
    """Files and folders this process (and the processes it starts) creates are owner-only."""
    os.umask(PRIVATE_UMASK)


def url_setting(name: str) -> str | None:
    """The value of URL variable `name`, or None when unset; a value without an http(s) scheme and a host is refused
    with one line naming the variable."""
    value = os.environ.get(name)
    if not value:
        return None
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        valid = False
    if not valid:
        shown = "its value" if name in SECRET_URL_SETTINGS else repr(redact_text(value))
        raise SettingsError(f"{name}: {shown} is not an http(s) URL with a host (e.g. https://api.example.com)")
    return value


def check_url_settings() -> None:
    """Refuse a malformed URL variable before anything runs (see `url_setting`)."""
    for name in URL_SETTINGS:
        url_setting(name)


def first_day_setting() -> date | None:
    """EVIDENCE_FIRST_DAY as a date, None when unset; a value that is not an ISO date is refused naming it."""
    value = os.environ.get(FIRST_DAY_ENV, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"{FIRST_DAY_ENV}: {value!r} is not a date (YYYY-MM-DD, e.g. 2026-01-01)") from None


def first_day_collected(paths: Paths) -> date | None:
    """The first day a run was started for in this data folder (`record_first_day`), None before the first run."""
    try:
        text = paths.first_day_file.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SettingsError(
            f"{paths.first_day_file}: {text[:40]!r} is not a date (YYYY-MM-DD); delete it and run the first day again"
        ) from None


def first_day(paths: Paths, today: date | None = None) -> date:
    """The daily partitions' first day: EVIDENCE_FIRST_DAY, else the first day collected, else today."""
    return first_day_setting() or first_day_collected(paths) or today or date.today()


def record_first_day(paths: Paths, day: date) -> date:
    """Before a run for `day` (a backfill's past days too): the first day collected becomes the earlier of it and
    `day`, so that `day`'s partition exists when the code location loads. Returns the first day now recorded; a day
    before EVIDENCE_FIRST_DAY is refused naming the variable."""
    configured = first_day_setting()
    if configured and day < configured:
        raise SettingsError(f"{FIRST_DAY_ENV}: the partitions start on {configured}; {day} is before it")
    paths.home.mkdir(parents=True, exist_ok=True)
    # runs of a backfill start at once: read, compare and replace under one lock, so no earlier day is lost
    with (paths.home / ".first_day.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        recorded = first_day_collected(paths)
        if recorded is not None and recorded <= day:
            return recorded
        written = paths.first_day_file.with_suffix(".tmp")
        written.write_text(day.isoformat() + "\n")
        written.replace(paths.first_day_file)  # atomic: a code location loading meanwhile reads one or the other
    return day


def optional_project_file(name: str) -> Path | None:
    """Like `project_file` for files a deployment may go without (waivers.yaml, identity_map.yaml)."""
    try:
        return project_file(name)
    except FileNotFoundError:
        return None


def project_file(name: str) -> Path:
    """A file of the repository (controls_map.yaml, waivers.yaml), overridable by environment."""
    env = {
        "controls_map.yaml": "EVIDENCE_CONTROLS_MAP",
        "waivers.yaml": "EVIDENCE_WAIVERS",
        "identity_map.yaml": "EVIDENCE_IDENTITY_MAP",
    }.get(name)
    if env and os.environ.get(env):
        return Path(os.environ[env]).resolve()
    for folder in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{name} not found in {Path.cwd()}; set {env} to its path")
