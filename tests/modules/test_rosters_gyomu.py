"""Rosters over the other 業務' tables (国保・後期・介護 資格, 避難行動要支援者) on hand-built stores,
SQLite and PostgreSQL. Every expected result is worked out in the comment beside it (the law, then the
arithmetic) — never by calling the module."""
from __future__ import annotations

import datetime as dt

import pytest

from kikan_hub.modules.rosters import RosterError, compute

from modhelpers import D, insert_rows, jumin_row

B = D(2024, 9, 1)          # 基準日 of every test here
KOKUHO_SHUTOKU_01 = "転入"  # codes/kokuho_shutoku_jiyu.yaml "01"
_n = iter(range(1, 10_000))


def resident(rows: list, birth=D(1950, 1, 1), *, setai=None, end=None, name="架空　花子") -> str:
    """A resident since 2000-04-01 in a household of their own (unless ``setai``); ``end=(code, date)``
    adds a 消除 row."""
    atena = f"{next(_n):010d}"
    common = dict(birth_date=birth, birth_date_literal=birth.isoformat(), setai_no=setai or f"S{atena}", shimei=name)
    rows.append(jumin_row(atena, 1, **common))
    if end:
        code, day = end
        rows.append(jumin_row(atena, 2, idou_jiyu=code, idou_date=day, shojo_jiyu=code, shojo_date=day,
                              jumin_jotai={"23": "3"}.get(code, "2"), shori_date=day, **common))
    return atena


def shikaku(atena: str, no: int, start: dt.date, end: dt.date | None = None, lost: str | None = None, **kw) -> dict:
    return dict(atena_no=atena, shikaku_rireki_no=no, shutoku_date=start, shutoku_jiyu="01", soshitsu_date=end,
                soshitsu_jiyu=lost, shori_date=start, **kw)


def judged(engine, name, as_of=B) -> dict[str, tuple[str, str]]:
    r = compute(engine, name, as_of)
    return dict(zip(r.table["atena_no"].to_pylist(), zip(r.table["判定"].to_pylist(), r.table["理由"].to_pylist())))


def test_kokuho_qualification_on_the_date(engine):
    jumin: list = []
    on_b = resident(jumin)            # 取得日 = 基準日 (第7条: その日から取得) → 掲載
    lost_b = resident(jumin)          # 喪失日 = 基準日 (第8条: 喪失日は資格のない最初の日) → 対象外
    lost_next = resident(jumin)       # 喪失日 = 基準日の翌日 → the 基準日 is the last day with the 資格 → 掲載
    future = resident(jumin)          # 取得日 = 基準日の翌日 → 取得前
    never = resident(jumin)           # no 資格 row → 記録なし
    again = resident(jumin)           # lost 2020-03-31, acquired again 2023-04-01 → 掲載 (取得 2023-04-01)
    moved = resident(jumin, end=("21", B))   # 資格 still open in 国保's data, but 転出 on the 基準日 → 対象外 消除
    insert_rows(engine, "juki_jumin", jumin)
    insert_rows(engine, "kokuho_hihokensha", [
        shikaku(on_b, 1, B), shikaku(lost_b, 1, D(2010, 4, 1), B, "03"), shikaku(lost_next, 1, D(2010, 4, 1), B + dt.timedelta(1), "03"),
        shikaku(future, 1, B + dt.timedelta(1)), shikaku(again, 1, D(2010, 4, 1), D(2020, 3, 31), "03"),
        shikaku(again, 2, D(2023, 4, 1)), shikaku(moved, 1, D(2010, 4, 1))])
    got = judged(engine, "kokuho")
    assert got[on_b] == ("掲載", "国保資格あり（取得 2024-09-01：" + KOKUHO_SHUTOKU_01 + "）")
    assert got[lost_b] == ("対象外", "国保資格喪失（喪失 2024-09-01：社会保険加入）")
    assert got[lost_next][0] == "掲載"
    assert got[future] == ("対象外", "国保資格取得前（取得 2024-09-02）")
    assert got[never] == ("対象外", "国保資格の記録なし")
    assert got[again][0] == "掲載" and "取得 2023-04-01" in got[again][1]
    assert got[moved][0] == "対象外" and "消除（国内転出）" in got[moved][1]
    r = compute(engine, "kokuho", B)
    start = dict(zip(r.table["atena_no"].to_pylist(), r.table["国保資格取得日"].to_pylist()))
    assert start[again] == "2023-04-01" and start[lost_b] == ""


def test_kouki_and_kaigo(engine):
    jumin: list = []
    # 後期: born 1949-09-02 reaches 75 on 2024-09-01 (年齢計算ニ関スル法律: the day before the birthday);
    # the roster reads the recorded 資格取得日 (第52条), it does not recompute it: 取得日 = 基準日 → 掲載.
    k75 = resident(jumin, D(1949, 9, 2))
    k_lost = resident(jumin, D(1940, 1, 1))      # 喪失日 = 基準日 → 対象外
    k_died = resident(jumin, D(1940, 1, 1), end=("23", B))   # died on the 基準日 → 対象外 消除（死亡）
    # 介護 第1号: born 1959-09-02 reaches 65 on 2024-09-01 → 取得日 2024-09-01 (第10条) → 掲載
    c65 = resident(jumin, D(1959, 9, 2))
    c_next = resident(jumin, D(1959, 9, 3))      # reaches 65 on 2024-09-02 → 取得日 2024-09-02 → 取得前
    insert_rows(engine, "juki_jumin", jumin)
    insert_rows(engine, "koki_hihokensha", [shikaku(k75, 1, B), shikaku(k_lost, 1, D(2015, 1, 1), B, "01"),
                                            shikaku(k_died, 1, D(2015, 1, 1))])
    insert_rows(engine, "kaigo_hihokensha", [shikaku(c65, 1, B, hihokensha_kubun="1"),
                                             shikaku(c_next, 1, B + dt.timedelta(1), hihokensha_kubun="1")])
    k = judged(engine, "kouki")
    assert k[k75][0] == "掲載" and "取得 2024-09-01" in k[k75][1]
    assert k[k_lost][0] == "対象外" and k[k_lost][1].startswith("後期資格喪失（喪失 2024-09-01")
    assert k[k_died][0] == "対象外" and "消除（死亡）" in k[k_died][1]
    c = judged(engine, "kaigo")
    assert c[c65] == ("掲載", "介護資格あり（取得 2024-09-01：第1号被保険者）")
    assert c[c_next] == ("対象外", "介護資格取得前（取得 2024-09-02）")


def nintei(atena, no, kubun, start, end, kekka="1"):
    return dict(atena_no=atena, nintei_rireki_no=no, shinsei_kubun="1", shinsei_date=start, nintei_kekka=kekka,
                yokaigo_jotai_kubun=kubun, yuko_kaishi_date=start, yuko_shuryo_date=end, shori_date=start)


def techo(atena, shurui, no, jiyu, day, **kw):
    return dict(atena_no=atena, techo_shurui=shurui, rireki_no=no, techo_bango=f"T{atena}", ido_jiyu=jiyu,
                kofu_date=day if not jiyu.startswith("1") else None,
                henkan_date=day if jiyu.startswith("1") else None, shori_date=day, **kw)


def test_hinan_criteria(engine):
    jumin: list = []
    young = D(1980, 1, 1)
    kaigo3 = resident(jumin, young)              # 要介護3, 有効期間 2024-04-01〜2025-03-31 → 掲載
    kaigo_end = resident(jumin, young)           # 要介護4 ended 2024-08-31 (終了日 is in the period) → 対象外
    kaigo_ends_b = resident(jumin, young)        # 要介護5 ending on the 基準日 → still in effect → 掲載
    kaigo2 = resident(jumin, young)              # 要介護2 → 対象外
    kaigo_down = resident(jumin, young)          # 要介護3 until 2025-03-31, but a 区分変更 to 要介護2 from 2024-08-01 → 対象外
    shintai2 = resident(jumin, young)            # 身体2級 → 掲載
    shintai3 = resident(jumin, young)            # 身体3級 → 対象外
    returned = resident(jumin, young)            # 身体1級, returned (返還) 2024-06-30 → 対象外
    ryoiku_a = resident(jumin, young)            # 療育A2 and 身体4級: the 療育 手帳 counts → 掲載
    seishin_expired = resident(jumin, young)     # 精神1級, 有効期限 2024-08-31 → 対象外
    # 75+ living alone: born 1949-09-02 reaches 75 on 2024-09-01 (the day before the birthday) → 掲載
    alone75 = resident(jumin, D(1949, 9, 2))
    alone74 = resident(jumin, D(1949, 9, 3))     # reaches 75 on 2024-09-02 → 対象外
    pair = resident(jumin, D(1940, 1, 1), setai="S0000000777")          # 75+ with a spouse → 対象外 …
    spouse = resident(jumin, D(1942, 1, 1), setai="S0000000777", end=("23", B))   # … unless the spouse died: on the 基準日 → alone → 掲載
    gone = resident(jumin, young, end=("21", B))  # 要介護5 but moved out on the 基準日 → 対象外 消除
    insert_rows(engine, "juki_jumin", jumin)
    fy = (D(2024, 4, 1), D(2025, 3, 31))
    insert_rows(engine, "kaigo_nintei", [
        nintei(kaigo3, 1, "23", *fy), nintei(kaigo_end, 1, "24", D(2023, 9, 1), D(2024, 8, 31)),
        nintei(kaigo_ends_b, 1, "25", D(2023, 9, 2), B), nintei(kaigo2, 1, "22", *fy),
        nintei(kaigo_down, 1, "23", *fy), nintei(kaigo_down, 2, "22", D(2024, 8, 1), D(2025, 7, 31)),
        nintei(gone, 1, "25", *fy)])
    insert_rows(engine, "shogai_techo_techo", [
        techo(shintai2, "1", 1, "01", D(2020, 1, 1), shintai_tokyu="2"),
        techo(shintai3, "1", 1, "01", D(2020, 1, 1), shintai_tokyu="3"),
        techo(returned, "1", 1, "01", D(2020, 1, 1), shintai_tokyu="1"),
        techo(returned, "1", 2, "11", D(2024, 6, 30), shintai_tokyu="1"),
        techo(ryoiku_a, "1", 1, "01", D(2020, 1, 1), shintai_tokyu="4"),
        techo(ryoiku_a, "2", 1, "01", D(2021, 1, 1), ryoiku_hantei="A2"),
        techo(seishin_expired, "3", 1, "01", D(2022, 9, 1), seishin_tokyu="1", yuko_kigen=D(2024, 8, 31))])
    got = judged(engine, "hinan")
    listed = {a for a, (j, _) in got.items() if j == "掲載"}
    assert listed == {kaigo3, kaigo_ends_b, shintai2, ryoiku_a, alone75, pair}
    assert got[kaigo3][1] == "要介護3以上：要介護3（2024-04-01〜2025-03-31）"
    assert got[shintai2][1] == "身体障害者手帳1・2級：2級"
    assert got[ryoiku_a][1].startswith("療育手帳A：A2")
    assert got[alone75][1] == "75歳以上の単身世帯（75歳以上（到達 2024-09-01）／単身世帯）"
    assert got[alone74][0] == "対象外" and got[alone74][1].startswith("要件に該当しない")
    assert "消除（国内転出）" in got[gone][1]
    # an earlier day, 2024-07-01: the 返還 has happened (6/30), the 要介護4 still runs, the spouse lives, the
    # 精神 手帳 has not expired, and the 区分変更 to 要介護2 (from 8/1) is not yet in effect: still 要介護3
    before = judged(engine, "hinan", D(2024, 7, 1))
    assert (before[kaigo_end][0], before[returned][0], before[pair][0]) == ("掲載", "対象外", "対象外")
    assert (before[seishin_expired][0], before[kaigo_down][0]) == ("掲載", "掲載")


def test_bad_source_in_a_city_rule_is_a_clear_error(engine, tmp_path, monkeypatch):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "kokuho.yaml").write_text(
        "name: kokuho\ntitle: 国保\ncriteria:\n  - kind: qualification_on_date\n    label: 国保\n"
        "    source: {table: kokuho_hihokensha, from: shutoku_bi, to: soshitsu_date, order: shikaku_rireki_no}\n"
        "columns: [atena_no]\n", encoding="utf-8")
    monkeypatch.setenv("KIKAN_ROSTER_RULES", str(tmp_path))
    with pytest.raises(RosterError, match="shutoku_bi"):
        compute(engine, "kokuho", B)


def test_cli_writes_the_masked_kaigo_roster(engine, store_url, tmp_path):
    import csv

    from typer.testing import CliRunner

    from kikan_hub.api.cli import app
    jumin: list = []
    a = resident(jumin, D(1959, 9, 2), name="髙橋　花子")
    insert_rows(engine, "juki_jumin", jumin)
    insert_rows(engine, "kaigo_hihokensha", [shikaku(a, 1, B, hihokensha_kubun="1")])
    r = CliRunner().invoke(app, ["roster", "kaigo", "--as-of", "2024-09-01", "--store", store_url,
                                 "--out", str(tmp_path / "k.csv"), "--encoding", "cp932"])
    assert r.exit_code == 0, r.output
    with (tmp_path / "k.csv").open(encoding="cp932", newline="") as fh:
        body = list(csv.reader(fh))
    assert body[0][-3:] == ["判定に用いた生年月日", "判定", "理由"] and "介護資格取得日" in body[0]
    assert body[1][0] == a and body[1][2] == "髙＊　花＊" and body[1][-1] == "介護資格あり（取得 2024-09-01：第1号被保険者）"


def test_unknown_kind_inside_any_of_is_a_clear_error(engine, tmp_path, monkeypatch):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "hinan.yaml").write_text(
        "name: hinan\ntitle: 要支援者\ncriteria:\n  - kind: any_of\n    of:\n"
        "      - {label: 高齢, criteria: [{kind: age_over, age: 75}]}\ncolumns: [atena_no]\n", encoding="utf-8")
    monkeypatch.setenv("KIKAN_ROSTER_RULES", str(tmp_path))
    with pytest.raises(RosterError, match="age_over"):
        compute(engine, "hinan", B)
