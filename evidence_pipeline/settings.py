"""Where generated data lives. One folder, one environment variable: EVIDENCE_HOME."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
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
        # the Dagster instance's settings: e.g. deploy/dagster.yaml, PostgreSQL storage
        "dagster.yaml": "EVIDENCE_DAGSTER_YAML",
    }.get(name)
    if env and os.environ.get(env):
        return Path(os.environ[env]).resolve()
    for folder in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{name} not found in {Path.cwd()}; set {env} to its path")
