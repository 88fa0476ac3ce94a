"""Pydantic models for the REST interface, derived from the ISL definitions (one field per column)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from kikan_hub.api.rest.tables import record_model as table_record_model, table_specs


def record_model(table_id: str, model_name: str) -> type[BaseModel]:
    """The generated model of a table (tables.py) under the name the hand-written routes document."""
    return table_record_model(table_specs()[table_id], model_name)


Jumin = record_model("juki_jumin", "Jumin")
Setai = record_model("juki_setai", "Setai")


class Token(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str


class OAuthErrorBody(BaseModel):
    error: str
    error_description: str


class Problem(BaseModel):
    detail: str


class ResidentList(BaseModel):
    count: int
    items: list[Jumin]  # type: ignore[valid-type]


class ResidentSearch(BaseModel):
    """個人番号、またはカナ氏名＋生年月日。個人番号は URL に載せないため POST で受け取る。"""
    model_config = ConfigDict(extra="forbid")
    kojin_bango: Optional[str] = Field(None, pattern=r"^[0-9]{12}$", description="個人番号 (12 桁)")
    shimei_kana: Optional[str] = Field(None, min_length=1, max_length=60, description="氏名のフリガナ")
    birth_date: Optional[dt.date] = Field(None, description="生年月日 (西暦)")


class Household(BaseModel):
    setai_no: str
    as_of: dt.date
    setai: Optional[Setai] = None  # type: ignore[valid-type]
    count: int
    members: list[Jumin]  # type: ignore[valid-type]
    date_uncertain: list[str] = Field(default_factory=list, description=(
        "この世帯にいたことがあり、基準日の状態が異動日不詳の異動 (j80) に依る人の宛名番号: "
        "その異動が基準日より後なら所属が変わる"))


class Change(BaseModel):
    serial: int = Field(description="異動連番 (単調増加)")
    resident: Jumin  # type: ignore[valid-type]


class ChangePage(BaseModel):
    count: int
    items: list[Change]
    next_serial: int = Field(description="次のページは since_serial にこの値を渡す")
    has_more: bool


class LinkageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since_serial: int = Field(0, ge=0, le=2 ** 62, description="この異動連番より後の異動を書き出す")
    since_date: Optional[dt.date] = Field(None, description="処理日がこの日以降の異動に限る")
    dir: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$",
                     description="連携ルート (serve --linkage-dir) の下のサブディレクトリ名")


class LinkageResult(BaseModel):
    file: str
    count: int
    from_serial: int
    next_serial: int
