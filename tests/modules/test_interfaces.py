"""The modules through the CLI (typer apps) and REST (APIRouter with an injected principal)."""
import json

import pytest
from fastapi import FastAPI, Header
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kikan_hub.api.cli_modules import atena_app, euc_app, juki_app
from kikan_hub.api.rest_modules import build_router
from kikan_hub.store.engine import open_engine
from kikan_hub.store.migrate import upgrade
from modhelpers import D, insert_rows, jumin_row, jutogai_row, m11

A, B = m11("000000111"), m11("000000222")
S = m11("000000901")


@pytest.fixture
def store(store_url):
    e = open_engine(store_url)
    upgrade(e)
    insert_rows(e, "juki_jumin", [
        jumin_row(A, 1, setai_no=S, shimei="𠮷田　太郎", shimei_kana="ヨシダ　タロウ", kojin_bango="123456789018",
                  idou_date=D(2000, 4, 1)),
        jumin_row(A, 2, setai_no=S, shimei="𠮷田　太郎", shimei_kana="ヨシダ　タロウ", idou_jiyu="21", kojin_bango="123456789018",
                  idou_date=D(2020, 4, 1), shojo_jiyu="21", shojo_date=D(2020, 4, 1), jumin_jotai="2")])
    insert_rows(e, "jutogai_atena", [jutogai_row(B, shimei="𠮷田　太郎", shimei_kana="ﾖｼﾀﾞ ﾀﾛｳ", birth_date=D(1980, 1, 1),
                                                 jusho="霞野市松町1-1-1")])
    e.dispose()
    return store_url


def test_cli(store, tmp_path):
    run = CliRunner().invoke
    r = run(juki_app, ["person", A, "--as-of", "2010-01-01", "--store", store, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["row"]["rireki_no"] == 1
    r = run(juki_app, ["household", S, "--as-of", "2010-01-01", "--store", store, "--json"])
    assert [m["atena_no"] for m in json.loads(r.output)["members"]] == [A]
    r = run(juki_app, ["removed", "--store", store, "--json"])
    assert json.loads(r.output)["count"] == 1
    r = run(juki_app, ["stats", "--store", store, "--by", "machiaza"])
    assert r.exit_code == 0 and "転出" in r.output
    assert run(juki_app, ["person", A, "--as-of", "昨日", "--store", store]).exit_code == 2
    r = run(atena_app, ["candidates", "--store", store, "--json"])
    assert json.loads(r.output)["candidates"][0]["atena_a"] == A
    r = run(atena_app, ["merge", A, B, "--who", "u1", "--store", store])
    assert r.exit_code == 0 and "判断 1" in r.output
    r = run(atena_app, ["undo", "1", "--who", "u1", "--store", store])
    assert r.exit_code == 0
    assert run(atena_app, ["undo", "1", "--who", "u1", "--store", store]).exit_code == 2
    r = run(atena_app, ["review", "--store", store])
    assert r.exit_code == 0, r.output
    (tmp_path / "d.yaml").write_text("name: 一覧\ntable: juki_jumin\nitems: [atena_no, shimei, kojin_bango]\n",
                                     encoding="utf-8")
    assert run(euc_app, ["define", str(tmp_path / "d.yaml"), "--who", "u1", "--store", store]).exit_code == 0
    r = run(euc_app, ["list", "--store", store, "--json"])
    assert json.loads(r.output)[0]["name"] == "一覧"
    r = run(euc_app, ["run", "一覧", "--out", str(tmp_path / "o.csv"), "--role", "閲覧", "--encoding", "cp932",
                      "--who", "u1", "--store", store])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o.csv").read_bytes().decode("cp932").splitlines()[1] == f"{A},吉＊　太＊,＊＊＊＊"
    r = run(euc_app, ["list", "--audit", "--store", store, "--json"])
    assert json.loads(r.output)[0]["row_count"] == 1


def test_rest(store, tmp_path):
    tokens = {"t1": {"sub": "client-1", "roles": ["担当", "個人番号事務"]}, "t2": {"sub": "client-2"}}

    def principal(x_token: str = Header(...)):   # stands in for the server's OAuth2 dependency
        return tokens[x_token]

    engine = open_engine(store)
    app = FastAPI()
    app.include_router(build_router(principal, engine=lambda: engine, output_dir=tmp_path), prefix="/api/v1")
    c = TestClient(app)
    h = {"x-token": "t1"}
    assert c.get(f"/api/v1/juki/persons/{A}").status_code == 422            # no principal header → 422 from the dependency
    r = c.get(f"/api/v1/juki/persons/{A}", params={"as_of": "2021-01-01"}, headers=h)
    assert r.status_code == 200 and r.json()["resident"] is False
    assert c.get(f"/api/v1/juki/persons/{A}", params={"as_of": "1990-01-01"}, headers=h).status_code == 404
    assert c.get(f"/api/v1/juki/households/{S}", params={"as_of": "2010-01-01"}, headers=h).json()["members"][0]["atena_no"] == A
    assert c.get("/api/v1/juki/removed", headers=h).json()["count"] == 1
    assert c.get("/api/v1/juki/stats", headers=h).json()["totals"] == {"転入": 1, "転出": 1}
    assert c.get("/api/v1/atena/candidates", headers=h).json()["count"] == 1
    did = c.post("/api/v1/atena/merge", json={"atena_nos": [A, B]}, headers=h).json()["decision_id"]
    assert c.get(f"/api/v1/atena/identities/{B}", headers=h).json()["identity_id"] == A
    assert c.post(f"/api/v1/atena/decisions/{did}/undo", json={}, headers=h).status_code == 201
    assert c.get("/api/v1/atena/decisions", headers=h).json()[0]["decided_by"] == "client-1"
    body = {"table": "juki_jumin", "items": ["atena_no", "shimei", "kojin_bango"]}
    assert c.put("/api/v1/euc/definitions/一覧", json=body, headers=h).json()["version"] == 1
    assert c.put("/api/v1/euc/definitions/bad", json={**body, "items": ["x"]}, headers=h).status_code == 422
    r = c.post("/api/v1/euc/definitions/一覧/run", params={"format": "csv", "encoding": "cp932"}, headers=h)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["masked_columns"] == {"kojin_bango": "full"} and run["fold_count"] == 1   # role 担当 (first)
    f = c.get(f"/api/v1/{run['download']}", headers=h)
    assert f.content.decode("cp932").splitlines()[1] == f"{A},吉田　太郎,＊＊＊＊"
    r = c.post("/api/v1/euc/definitions/一覧/run", params={"role": "個人番号事務"}, headers=h).json()
    assert c.get(f"/api/v1/{r['download']}", headers=h).content.decode("utf-8").splitlines()[1].endswith("123456789018")
    assert c.post("/api/v1/euc/definitions/一覧/run", params={"role": "個人番号事務"},
                  headers={"x-token": "t2"}).status_code == 403
    assert c.get(f"/api/v1/{r['download']}", headers={"x-token": "t2"}).status_code == 403
    assert c.get("/api/v1/euc/runs", headers=h).json()[0]["who"] == "client-1"
    engine.dispose()
