"""GET /api/v1/rosters/{name} on a real server: scope per roster, masking per role, audited subjects."""
import httpx

from api_helpers import A1, A2, A3
from test_api_rest import bearer, get_token


def test_roster_scope_mask_and_audit(hub_server):
    srv, _ = hub_server
    issued = srv.hub.clients.add("senkyo-system", "選挙システム", ["rosters:senkyo:read", "euc:etsuran:read"])
    h = bearer(get_token(srv.base, "senkyo-system", issued.client_secret))
    # 基準日 2024-09-01: A1 (1970生, 転入 2010) and A2 (1972生) are 18+ with 3 months; A3 (2015生) is a child;
    # A4 moved out 2019-03-31 (4 months long past → 抹消); A5's birth 「昭和○年頃」 has no year → 判定不能.
    r = httpx.get(f"{srv.base}/api/v1/rosters/senkyo", params={"as_of": "2024-09-01"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["atena_no"] for i in body["items"]] == [A1, A2]
    assert body["items"][0]["shimei"] == "架＊ 太＊" and body["role"] == "閲覧"      # names masked for 閲覧
    assert body["counts"] == {"掲載": 2, "対象外": 3}
    r = httpx.get(f"{srv.base}/api/v1/rosters/senkyo", params={"as_of": "2024-09-01", "all": "true"}, headers=h)
    everyone = sorted(i["atena_no"] for i in r.json()["items"])
    assert {i["atena_no"]: i["判定"] for i in r.json()["items"]}[A3] == "対象外" and len(everyone) == 5
    # another division's roster needs its own scope
    r = httpx.get(f"{srv.base}/api/v1/rosters/gakureibo", params={"as_of": "2024-09-01"}, headers=h)
    assert r.status_code == 403
    assert httpx.get(f"{srv.base}/api/v1/rosters/senkyo", params={"as_of": "2024-99-01"}, headers=h).status_code == 422
    # a masking role the caller does not hold is refused (and audited as denied)
    r = httpx.get(f"{srv.base}/api/v1/rosters/senkyo", params={"as_of": "2024-09-01", "role": "個人番号事務"}, headers=h)
    assert r.status_code == 403
    entries = [e for e in srv.hub.audit.query(client_id="senkyo-system") if e.operation == "rosters.senkyo"]
    assert [(e.outcome, sorted(e.atena_nos)) for e in entries] == [("ok", [A1, A2]), ("ok", everyone), ("invalid", []),
                                                                       ("denied", [])]
