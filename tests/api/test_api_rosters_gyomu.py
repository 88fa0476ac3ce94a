"""GET /api/v1/rosters/{hinan,kokuho} on a real server: the rosters over the other 業務' tables get the
same scope per roster, masking per EUC role, 支援対象者 withholding and audit as the 住民記録 rosters."""
import datetime as dt

import httpx
from sqlalchemy import insert, update

from api_helpers import A1, A2
from test_api_rest import bearer, get_token

D = dt.date


def _fill(engine):
    from kikan_hub.store.schema import build_metadata
    md = build_metadata()
    fy = dict(shinsei_kubun="1", nintei_kekka="1", yuko_kaishi_date=D(2024, 4, 1), yuko_shuryo_date=D(2025, 3, 31),
              shinsei_date=D(2024, 3, 1), shori_date=D(2024, 3, 20), hihokensha_bango="0000000001")
    with engine.begin() as c:
        # A1 要介護3, A2 要介護4 (both in effect on 2024-09-01); A2 is a 支援対象者 (j160)
        c.execute(insert(md.tables["kaigo_nintei"]), [dict(atena_no=A1, nintei_rireki_no=1, yokaigo_jotai_kubun="23", **fy),
                                                       dict(atena_no=A2, nintei_rireki_no=1, yokaigo_jotai_kubun="24", **fy)])
        # 国保: A1 since 2010-04-01; A2 lost it on the 基準日 (喪失日 = 基準日 → not on the roster)
        c.execute(insert(md.tables["kokuho_hihokensha"]), [
            dict(atena_no=A1, shikaku_rireki_no=1, setai_no="S", zokugara="01", hihokensha_bango="1", shutoku_date=D(2010, 4, 1),
                 shutoku_jiyu="01", ichibu_futan_wariai="3", shori_date=D(2010, 4, 1)),
            dict(atena_no=A2, shikaku_rireki_no=1, setai_no="S", zokugara="02", hihokensha_bango="2", shutoku_date=D(2010, 4, 1),
                 shutoku_jiyu="01", soshitsu_date=D(2024, 9, 1), soshitsu_jiyu="03", ichibu_futan_wariai="3",
                 shori_date=D(2024, 9, 2))])
        c.execute(update(md.tables["juki_jumin"]).where(md.tables["juki_jumin"].c.atena_no == A2).values(shien_taisho=True))


def test_hinan_and_kokuho_scope_mask_shien(hub_server):
    srv, _ = hub_server
    _fill(srv.hub.engine)
    plain = srv.hub.clients.add("bousai", "防災システム", ["rosters:hinan:read", "euc:etsuran:read"])
    full = srv.hub.clients.add("bousai-shien", "防災＋支援措置", ["rosters:hinan:read", "euc:etsuran:read",
                                                                "juki:shien_sochi:read"])
    kokuho = srv.hub.clients.add("kokuho-sys", "国保システム", ["rosters:kokuho:read", "euc:etsuran:read"])
    p = {"as_of": "2024-09-01"}
    h_plain = bearer(get_token(srv.base, "bousai", plain.client_secret))
    r = httpx.get(f"{srv.base}/api/v1/rosters/hinan", params=p, headers=h_plain)
    assert r.status_code == 200, r.text
    body = r.json()
    # A2 (要介護4) is on the roster but a 支援対象者: withheld without juki:shien_sochi:read
    assert [i["atena_no"] for i in body["items"]] == [A1] and body["counts"]["掲載"] == 2
    assert body["items"][0]["shimei"] == "架＊ 太＊" and body["items"][0]["理由"] == "要介護3以上：要介護3（2024-04-01〜2025-03-31）"
    assert any("災害対策基本法 第49条の10" in b for b in body["legal_basis"])
    r = httpx.get(f"{srv.base}/api/v1/rosters/hinan", params=p,
                  headers=bearer(get_token(srv.base, "bousai-shien", full.client_secret)))
    assert [i["atena_no"] for i in r.json()["items"]] == [A1, A2]
    # one division's scope does not open another's roster
    assert httpx.get(f"{srv.base}/api/v1/rosters/kokuho", params=p, headers=h_plain).status_code == 403
    r = httpx.get(f"{srv.base}/api/v1/rosters/kokuho", params={**p, "all": "true"},
                  headers=bearer(get_token(srv.base, "kokuho-sys", kokuho.client_secret)))
    judged = {i["atena_no"]: (i["判定"], i["理由"]) for i in r.json()["items"]}
    assert judged[A1][0] == "掲載" and A2 not in judged     # A2 withheld (支援対象者) even as 対象外
    seen = {(e.client_id, e.outcome, tuple(e.atena_nos)) for e in srv.hub.audit.query()
            if e.operation == "rosters.hinan" and e.outcome.startswith("shien_")}
    assert seen == {("bousai", "shien_withheld", (A2,)), ("bousai-shien", "shien_disclosed", (A2,))}
