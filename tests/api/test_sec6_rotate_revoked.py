"""Finding 6: `kikan clients rotate` on a revoked client made it active again."""
from __future__ import annotations

import secrets

from typer.testing import CliRunner

from kikan_hub.api.cli_serve import clients_app


def test_rotating_a_revoked_client_is_refused_and_it_stays_revoked(tmp_path, monkeypatch):
    monkeypatch.setenv("KIKAN_SECRET_KEY", secrets.token_hex(32))
    store = f"sqlite:///{tmp_path / 'kikan.db'}"
    run = CliRunner().invoke
    assert run(clients_app, ["add", "--id", "vendor-x", "-s", "juki:jumin:read", "--store", store]).exit_code == 0
    assert run(clients_app, ["revoke", "vendor-x", "--store", store]).exit_code == 0
    r = run(clients_app, ["rotate", "vendor-x", "--store", store])
    assert r.exit_code == 2, r.output
    assert "失効" in r.output and "Traceback" not in r.output
    assert "client_secret:" not in r.output   # no new secret was issued
    r = run(clients_app, ["list", "--store", store, "--json"])
    import json
    (row,) = json.loads(r.output)
    assert row["active"] is False and row["generation"] == 1
    # An active client still rotates.
    assert run(clients_app, ["add", "--id", "vendor-y", "-s", "juki:jumin:read", "--store", store]).exit_code == 0
    r = run(clients_app, ["rotate", "vendor-y", "--store", store])
    assert r.exit_code == 0 and "client_secret:" in r.output
