"""`rotate-key` hands the access-review campaign chain over to the new key too: a campaign started under the old key
takes decisions signed by the new one, and the chain still verifies with the old key pinned."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from evidence_pipeline import cli
from evidence_pipeline.evidence.signing import SIGNING_KEY_ENV, generate_key, public_pem
from evidence_pipeline.evidence.verify import verify_series
from evidence_pipeline.reviews.campaigns import import_packet, read_campaigns, start_campaign
from tests.reviews.conftest import OWNER, START, Home

DUE = date(2026, 10, 19)


def test_rotate_key_hands_the_campaign_chain_to_the_new_key(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started = start_campaign(home.paths, "2026-Q4", "privileged", DUE, OWNER, {}, None, now=START)
    new = generate_key(tmp_path / "keys" / "new.pem")
    assert cli.main(["rotate-key", "--new", f"{new.path}.pub"]) == 0  # signed by the current key
    capsys.readouterr()

    # the reviewer's packet comes back after the switch: its import is the campaign chain's first bundle the new key
    # signs, which it may only do through the rotation record rotate-key left in the campaigns folder
    monkeypatch.setenv(SIGNING_KEY_ENV, str(new.path))
    packet = started / "packets" / "carol@corp.test.csv"
    with packet.open(newline="") as handle:
        rows = [{**row, "decision": "keep"} for row in csv.DictReader(handle)]
    returned = tmp_path / "carol.csv"
    with returned.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    imported = import_packet(home.paths, returned, now=START + timedelta(days=1))
    assert imported.accepted

    old_public = public_pem(home.key.public_key)
    chain = verify_series(home.campaigns, old_public)
    assert chain.signers == [home.key.key_id, new.key_id]
    assert [v.signed_by for v in chain] == [home.key.key_id, new.key_id]
    (campaign,) = read_campaigns(home.campaigns, public_key=old_public)
    assert set(campaign.latest_decisions()) == {r["account_key"] for r in rows}
    assert cli.main(["verify", str(home.campaigns), "--public-key", f"{home.key.path}.pub"]) == 0
    assert f"signed by {home.key.key_id} -> {new.key_id}" in capsys.readouterr().out
