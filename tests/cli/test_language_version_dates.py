"""One language per audience, unwrapped errors, `kikan --version`, 和暦 wherever a date is typed
(issue 16 point 9)."""
from __future__ import annotations

import datetime as dt
import re
from importlib.metadata import version

import pytest
import typer
from kikan_testenv import run_kikan as kikan

from kikan_hub.api.cli_modules import atena_app, euc_app, juki_app
from kikan_hub.mapping.typed_date import TypedDateError, parse_typed_date


def test_version():
    proc = kikan("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"kikan-hub {version('kikan-hub')}"


ENGLISH_PHRASE = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b")   # three English words in a row


@pytest.mark.parametrize("group", [juki_app, atena_app, euc_app], ids=["juki", "atena", "euc"])
def test_clerks_help_is_japanese(group):
    cmd = typer.main.get_command(group)
    texts = [("group", cmd.help or "")]
    for name, sub in cmd.commands.items():
        texts.append((name, sub.help or ""))
        for p in sub.params:
            if p.name != "help":
                assert getattr(p, "help", None), (name, p.name)   # every option is explained
                texts.append((f"{name} {p.name}", p.help))
    english = [(where, t) for where, t in texts if ENGLISH_PHRASE.search(t)]
    assert english == []
    assert all(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", t) for _, t in texts if t)


def test_errors_are_one_line_when_stderr_is_not_a_terminal(tmp_path):
    deep = tmp_path / ("とても長いフォルダ名" * 6) / "manifest.yaml"
    proc = kikan("rehearse", str(deep), "--store", f"sqlite:///{tmp_path / 'k.db'}", COLUMNS="")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(deep) in lines[0], proc.stderr


@pytest.mark.parametrize("text, iso", [
    ("令和6年4月1日", "2024-04-01"), ("R6.4.1", "2024-04-01"), ("r06/04/01", "2024-04-01"), ("令和元年5月1日", "2019-05-01"),
    ("平成31年4月30日", "2019-04-30"), ("Ｈ３１．４．３０", "2019-04-30"), ("明治45年7月30日", "1912-07-30"),
    ("2024-04-01", "2024-04-01"), ("2024/4/1", "2024-04-01"), ("20240401", "2024-04-01"),
])
def test_typed_dates(text, iso):
    assert parse_typed_date(text) == dt.date.fromisoformat(iso)


@pytest.mark.parametrize("text, says", [
    ("昭和64年1月8日", "昭和の期間外"), ("令和1年4月30日", "令和の期間外"), ("X6.4.1", "元号が分かりません"),
    ("2024-02-30", "存在しない日付"), ("来週", "日付として読めません"),
])
def test_typed_dates_refused_with_the_reason(text, says):
    with pytest.raises(TypedDateError, match=says):
        parse_typed_date(text)


def test_as_of_takes_wareki_on_the_command_line(tmp_path):
    from kikan_hub.store.engine import open_engine
    from kikan_hub.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'k.db'}"
    upgrade(open_engine(url))
    proc = kikan("juki", "person", "1000000001", "--as-of", "R6.4.1", "--json", "--store", url)
    assert proc.returncode == 1 and '"as_of": "2024-04-01"' in proc.stdout, proc.stdout + proc.stderr   # no record, date understood
    proc = kikan("juki", "person", "1000000001", "--as-of", "昭和64年1月8日", "--store", url)
    assert proc.returncode == 2 and "昭和の期間外" in proc.stderr, proc.stderr


def test_euc_definition_as_of_takes_wareki():
    from kikan_hub.modules.euc import parse_definition

    d = parse_definition("name: t\ntable: juki_jumin\nitems: [atena_no]\nas_of: 令和6年4月1日\n")
    assert d.as_of == "2024-04-01"


def test_engineers_definition_errors_speak_both_languages(tmp_path):
    (tmp_path / "layout.yaml").write_text("layout: X\nformat: fixed\n", encoding="utf-8")
    (tmp_path / "f.dat").write_bytes(b"x")
    proc = kikan("preview", str(tmp_path / "layout.yaml"), str(tmp_path / "f.dat"))
    assert proc.returncode == 2
    assert "定義ファイルの誤り" in proc.stderr and "layout.yaml: missing key 'record_types'" in proc.stderr
