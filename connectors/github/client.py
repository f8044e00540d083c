"""Builds an authenticated PyGithub client: a token or a GitHub App installation."""

from __future__ import annotations

from dataclasses import dataclass

from github import Auth, Github

DEFAULT_BASE_URL = "https://api.github.com"


@dataclass(frozen=True)
class GitHubConfig:
    org: str
    base_url: str = DEFAULT_BASE_URL
    token: str | None = None
    app_id: str | None = None
    app_private_key: str | None = None
    app_installation_id: int | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # credentials never reach logs
        return f"GitHubConfig(org={self.org!r}, base_url={self.base_url!r}, auth={self.auth_kind})"

    @property
    def auth_kind(self) -> str:
        return "token" if self.token else "github-app" if self.app_id else "none"


def make_github(config: GitHubConfig) -> Github:
    """A PyGithub client with our retry and pacing policy in charge (PyGithub's own are off)."""
    if config.token:
        auth: Auth.Auth = Auth.Token(config.token)
    elif config.app_id and config.app_private_key and config.app_installation_id:
        app = Auth.AppAuth(config.app_id, config.app_private_key)
        auth = app.get_installation_auth(int(config.app_installation_id))
    else:
        raise ValueError("GitHub needs a token or a GitHub App (app id, private key, installation id)")
    # PyGithub's own throttle is off too: it counts every POST as a write (1 s apart), and GraphQL
    # reads are POSTs. Requests are serial and paced by the stream policy (connectors/stream.py).
    return Github(
        auth=auth,
        base_url=config.base_url.rstrip("/"),
        retry=None,
        timeout=int(config.timeout),
        per_page=100,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
