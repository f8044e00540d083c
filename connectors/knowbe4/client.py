"""The KnowBe4 Reporting API client: plain requests with the account's region base URL and a bearer key.

KnowBe4 hosts each account in one region, and the Reporting API of that region is the only
one that knows it (the wrong region answers 401). The console's address tells which:
training.knowbe4.com -> us, eu.knowbe4.com -> eu, and so on (developer.knowbe4.com, "Base URL").
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

#: Reporting API base URL per region.
REGIONS: dict[str, str] = {
    "us": "https://us.api.knowbe4.com",
    "eu": "https://eu.api.knowbe4.com",
    "ca": "https://ca.api.knowbe4.com",
    "uk": "https://uk.api.knowbe4.com",
    "de": "https://de.api.knowbe4.com",
}


def resolve_base_url(region: str | None = None, api_url: str | None = None) -> str:
    """An explicit API URL (a proxy, the sandbox) wins; otherwise the region's documented base URL."""
    if api_url:
        return api_url.rstrip("/")
    if not region:
        raise ValueError(f"KnowBe4 needs a region ({', '.join(REGIONS)}) or an API URL")
    try:
        return REGIONS[region.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown KnowBe4 region {region!r}; choose one of {', '.join(REGIONS)}") from None


@dataclass(frozen=True)
class KnowBe4Config:
    api_key: str
    region: str | None = None
    api_url: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # the key never reaches logs
        return f"KnowBe4Config(base_url={self.base_url!r}, api_key=[redacted])"

    @property
    def base_url(self) -> str:
        return resolve_base_url(self.region, self.api_url)


def make_session(config: KnowBe4Config) -> requests.Session:
    """A session that sends the Reporting API key as a bearer token on every request."""
    if not config.api_key:
        raise ValueError("KnowBe4 needs a Reporting API key")
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {config.api_key}",
            "Accept": "application/json",
            "User-Agent": "evidence-pipeline (read-only SOC 2 evidence collection)",
        }
    )
    return session
