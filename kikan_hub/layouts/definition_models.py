"""One pydantic model per kind of definition file: the file formats, written down once.

Every loader validates a file against its model before anything else reads it (strict_yaml.validate):
an unknown key is an error listing the allowed keys, a wrong type or value names the path inside
the file. The models are also the documentation: ``kikan schema NAME`` prints their JSON Schema.

Only the shape of one file is checked here (keys, types, allowed values, ids unique inside the
file, references inside the file). What needs other files (a mapping's fields against its legacy
layout, a code table an item names, a rule id a manifest overrides) is checked by the loader that
has them. This module imports nothing of the hub: it sits at the bottom of the dependency arrow.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

# --------------------------------------------------------------------------- shared pieces


class Strict(BaseModel):
    """Unknown keys are errors; no silent coercion (a code 01 written unquoted is not the text "01")."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="小文字英数字と _ (snake_case)")]
FieldName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="英数字と _")]
Positive = Annotated[int, Field(ge=1)]
Level = Literal["warn", "error", "critical"]
# int = a count of failed records, a float below 1 = a share of the records checked (catalogue.level_for)
Thresholds = dict[Level, Annotated[Union[int, float], Field(ge=0)]]


def _text_or_number(value: Any) -> Any:
    """A label or description YAML read as a number (年度 2024) is text; booleans are not."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_text_or_number, json_schema_input_type=Union[str, int, float])]


def _unique(values: list[str], what: str) -> None:
    dup = sorted({v for v in values if values.count(v) > 1})
    if dup:
        raise ValueError(f"duplicate {what}: {', '.join(dup)}")


# --------------------------------------------------------------------------- ISL definitions

ItemType = Literal["text", "kana", "digits", "integer", "decimal", "date", "wareki_date", "code", "flag"]
# Which personal data an item holds: the kinds of layouts/personal.yaml, the one policy that masking,
# EUC, REST/SOAP stripping, reports and log scrubbing read.
PERSONAL_FILE = Path(__file__).with_name("personal.yaml")
PersonalKind = Literal[tuple(yaml.safe_load(PERSONAL_FILE.read_text(encoding="utf-8"))["kinds"])]  # type: ignore[valid-type]


class IslItem(Strict):
    """One データ項目 of an ISL table."""

    id: Identifier = Field(description="項目 id (列名)")
    name: Text = Field(description="データ項目名称 (標準仕様書の名称)")
    type: ItemType = Field(description="論理型; wareki_date は 6 列 (値・原文・不詳・和暦・日不詳・暦にない日) になる")
    length: Positive = Field(description="桁数 (文字数; decimal は全桁数)")
    gaiji: bool = Field(False, description="外字を含み得る (列幅は 2 倍)")
    code: Identifier | None = Field(None, description="コード表 id (codes/<id>.yaml)")
    required: bool = Field(False, description="必須 (空欄不可)")
    provenance: Text = Field("", description="出典 (jNNN、法令の条項)")
    scale: int = Field(0, ge=0, description="decimal の小数桁数")
    check: Literal["m11", "mynumber", "juminhyo_code"] | None = Field(None, description="検査数字の方式")
    unknown_allowed: bool = Field(False, description="不詳日を許す (j80)")
    personal: PersonalKind | None = Field(None, description="個人情報の種類 (マスキング・EUC・帳票が読む)")
    required_when: dict[str, list[Text]] = Field(
        default_factory=dict, description="条件付き必須 (j60): {項目 id: [値, …]} がすべて成り立つとき必須")
    required_except: Literal["johyo"] | None = Field(None, description="空欄を許す状態 (johyo: 除票の行)")
    calendar_by_shubetsu: dict[str, Literal["wareki", "seireki"]] | None = Field(
        None, description="住民種別ごとの暦 (日本人 wareki、外国人 seireki; j10, j20, j90)")

    @model_validator(mode="after")
    def _lists_not_empty(self) -> "IslItem":
        empty = [k for k, v in self.required_when.items() if not v]
        if empty:
            raise ValueError(f"required_when: {', '.join(empty)} needs a non-empty list of values")
        return self


class IslTable(Strict):
    """One table (レコード) of an ISL definition."""

    id: Identifier = Field(description="テーブル id (ストアのテーブル名、全業務で一意)")
    name: Text = Field(description="テーブルの名称")
    description: Text = ""
    primary_key: list[Identifier] = Field(default_factory=list, description="主キーの項目 id")
    items: list[IslItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> "IslTable":
        ids = [it.id for it in self.items]
        _unique(ids, "item ids")
        for k in self.primary_key:
            if k not in ids:
                raise ValueError(f"primary_key: {k!r} is not an item of the table")
        for it in self.items:
            for k in it.required_when:
                if k not in ids:
                    raise ValueError(f"item {it.id}: required_when names {k!r}, not an item of the table")
        return self


class IslDefinition(Strict):
    """中間標準レイアウトの定義: one 業務 (a file may hold part of one, as juki_idou.yaml does)."""

    gyomu: Text = Field(description="業務の名称 (住民記録 …)")
    gyomu_id: Identifier = Field(description="業務 id (juki, zei_kojin …); REST の {gyomu_id}")
    version: Text = Field(description="準拠する標準仕様書の版")
    provenance: Text = ""
    tables: list[IslTable] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_tables(self) -> "IslDefinition":
        _unique([t.id for t in self.tables], "table ids")
        return self


class CodeTableFile(Strict):
    """コード表 (codes/<id>.yaml). Besides the codes, the attributes the checks read are named here."""

    id: Identifier
    name: Text
    provenance: Text = ""
    codes: dict[str, Text] = Field(description="{コード: 名称}; コードは文字列 (\"01\" と引用符で)")
    # Attributes a check or a module reads (each documented where it is read).
    valid: Any = Field(None, description="コードの有効年度 (課税年度ごと)")
    only_for_jumin_shubetsu: Any = None
    standard_rate: Any = None
    standard_rate_permille: Any = None
    isl_to_kizon: Any = None
    kizon_provenance: Any = None
    kizon_codes: Any = None
    kizon_to_isl_default: Any = None
    genzon: Any = Field(None, description="現存者を表すコード (住民状態)")
    from_shojo_jiyu: Any = None
    not_chuchoki: Any = None
    no_zairyu_shikaku: Any = None
    ritsu: Any = None
    nendo_su: Any = None
    kotei_ritsu: Any = None
    toshikei_ritsu: Any = None
    shokibo_menseki_per_ko: Any = None
    retired: Any = Field(None, description="使われなくなったコード")
    needs: Any = None
    menzeiten: Any = None
    mokuzo: Any = None
    kubun: Any = Field(None, description="異動事由の区分 (記載・消除 …)")
    alpha2: Any = None
    alpha3: Any = None
    composition: Any = None
    legacy_words: Any = Field(None, description="旧システムの続柄の語 → 標準コード")
    eras: Any = None
    isl_to_letter: Any = None
    three_wheels_or_more: Any = None
    old_rate: Any = None
    juka: Any = None
    green: Any = None
    kazei: Any = None
    standard_rate_note: Any = None
    gyomu_id: Any = Field(None, description="業務コード表: コード → 業務 id")
    tantoka: Any = Field(None, description="業務コード表: コード → 担当課")

    @property
    def extra(self) -> dict[str, Any]:
        return {k: v for k, v in self if k not in {"id", "name", "provenance", "codes"} and v is not None}


# --------------------------------------------------------------------------- legacy layouts

FieldType = Literal["text", "kana", "digits", "integer", "zoned", "packed", "binary", "dbcs", "date", "code", "filler"]


def _code_text(value: Any) -> Any:
    """A record-type code written as a number (code: 1) is the text "1" (the discriminator's bytes)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


CodeText = Annotated[str, BeforeValidator(_code_text, json_schema_input_type=Union[str, int])]


class LayoutField(Strict):
    """One field of a record type: start/length (fixed, 1-based bytes) or column (delimited, 1-based)."""

    name: FieldName
    type: FieldType
    label: Text = ""
    description: Text = ""
    note: Text = ""
    start: Positive | None = None
    length: Positive | None = None
    column: Positive | None = None
    scale: int = Field(0, ge=0, le=18, description="zoned, packed, binary の小数桁数")
    sign: Literal["none", "leading", "trailing"] = Field("none", description="integer の符号の位置")
    date_format: str | None = Field(None, description="western | era_code | era_letter | kanji、または GYY.MM.DD 等")
    code_table: Text | None = None
    gaiji: bool = False
    required: bool = False
    occurs: Positive | None = Field(None, description="OCCURS: 繰り返し回数 (fixed)")
    stride: Positive | None = Field(None, description="繰り返しの間隔 (バイト、既定は length)")
    signed: bool = Field(False, description="binary: 2 の補数 (PIC S9 COMP)")
    check_digit: Literal["m11", "none"] | None = Field(None, description="旧システムの番号の検査数字の方式")


class HashTotal(Strict):
    field: FieldName = Field(description="トレーラのハッシュ合計の項目")
    of: FieldName = Field(description="合計するデータレコードの項目")


class Control(Strict):
    """Trailer control totals (role: trailer only)."""

    count: FieldName | None = Field(None, description="件数を持つトレーラの項目")
    hash_total: HashTotal | None = None


class RecordTypeModel(Strict):
    name: FieldName
    code: CodeText | None = Field(None, description="識別項目の値")
    role: Literal["header", "data", "trailer"] = "data"
    description: Text = ""
    label: Text = ""
    control: Control | None = None
    columns: Positive | None = Field(None, description="delimited: 列数")
    fields: list[LayoutField] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_fields(self) -> "RecordTypeModel":
        _unique([f.name for f in self.fields], "field names")
        return self


class Discriminator(Strict):
    start: Positive | None = Field(None, description="fixed: 1 始まりのバイト位置")
    length: Positive | None = None
    column: Positive | None = Field(None, description="delimited: 1 始まりの列")


def _header_list(value: Any) -> Any:
    """A header line is named column by column and checked, never skipped blindly (header: true is refused)."""
    if value is None or value is False:
        return None
    if not isinstance(value, list):
        raise ValueError(f"header must list the expected column names of the file's first line, e.g. "
                         f"header: [区分, 宛名番号, 氏名]; got {value!r} (a header line is checked, never skipped unchecked)")
    return value


class LegacyLayoutFile(Strict):
    """旧システムのファイルレイアウト (固定長または区切り)."""

    layout: Text = Field(min_length=1, description="レイアウト id (KYU-JUMIN …)")
    description: Text = ""
    provenance: Text = ""
    format: Literal["fixed", "delimited"] = "fixed"
    encoding: str = Field("cp932", min_length=1)
    record_length: Positive | None = Field(None, description="fixed: レコード長 (バイト、改行を除く)")
    terminator: Literal["crlf", "lf", "none"] = "crlf"
    eof_marker: Annotated[str | None, BeforeValidator(lambda v: None if v is False else v,
                                                      json_schema_input_type=Union[str, bool, None])] = Field(
        None, pattern=r"^(0[xX])?[0-9A-Fa-f]{2}$", description="ファイル末尾の 1 バイト (16 進、例 \"1A\")")
    delimiter: str | None = Field(None, min_length=1, max_length=1)
    quote: str | None = Field(None, min_length=1, max_length=1)
    header: Annotated[list[CodeText] | None, BeforeValidator(
        _header_list, json_schema_input_type=Union[list[CodeText], bool, None])] = Field(
        None, min_length=1, description="delimited: 1 行目の列名 (照合する; 読み飛ばしはしない)")
    discriminator: Discriminator | None = None
    era_codes: dict[CodeText, Text] = Field(default_factory=dict)
    code_tables: dict[str, dict[CodeText, Text]] = Field(
        default_factory=dict, description="レイアウトに書かれた値の意味 (COBOL level-88 など)")
    record_types: list[RecordTypeModel] = Field(min_length=1)


# --------------------------------------------------------------------------- mappings


def _column_shorthand(value: Any) -> Any:
    return {"from": value} if isinstance(value, str) else value


class MappingColumn(Strict):
    """How one canonical column is filled: exactly one of from, const, from_header, from_trailer."""

    from_: FieldName | None = Field(None, alias="from", description="旧レイアウトの項目")
    const: str | int | float | bool | None = Field(None, description="全行に同じ値")
    from_header: FieldName | None = Field(None, description="ヘッダレコードの項目 (全行に同じ値)")
    from_trailer: FieldName | None = Field(None, description="トレーラレコードの項目 (全行に同じ値)")
    code_map: str | dict[str, str] | None = Field(None, description="{旧コード: 標準コード} または code_maps の名前")
    date: str | None = Field(None, min_length=1, description="日付の書き方: western | era_code | era_letter | kanji | パターン")
    unknown_from: FieldName | None = Field(None, description="不詳の印を持つ旧項目")
    kana: Literal["fullwidth"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_source(cls, data: Any) -> Any:
        known = {f.alias or name for name, f in cls.model_fields.items()}
        if isinstance(data, dict) and set(data) <= known:  # an unknown key is reported as such first
            given = [k for k in ("from", "const", "from_header", "from_trailer") if k in data]
            if len(given) != 1:
                raise ValueError("needs exactly one of from, const, from_header, from_trailer"
                                 + (f" (got {', '.join(given)})" if given else ""))
            if "const" in data and data["const"] is None:
                raise ValueError("const needs a value (leave the column out for an empty item)")
        return data


class MappingSource(Strict):
    file: Text = Field(description="マニフェストの files[].id")
    record_type: FieldName


class MappingTarget(Strict):
    table: Identifier = Field(description="ISL テーブル id")
    source: MappingSource
    columns: dict[str, Annotated[MappingColumn, BeforeValidator(
        _column_shorthand, json_schema_input_type=Union[str, MappingColumn])]] = Field(
        default_factory=dict, description="{ISL 項目 id: {from: 旧項目} または 旧項目}")


class MappingFile(Strict):
    """旧レコード種別 → ISL テーブルの変換定義."""

    targets: list[MappingTarget] = Field(min_length=1)
    code_maps: dict[str, dict[CodeText, CodeText]] = Field(
        default_factory=dict, description="名前付きのコード変換表 {名前: {旧コード: 標準コード}}")

    @model_validator(mode="after")
    def _named_code_maps(self) -> "MappingFile":
        for i, t in enumerate(self.targets):
            for name, c in t.columns.items():
                if isinstance(c.code_map, str) and c.code_map not in self.code_maps:
                    raise ValueError(f"targets[{i}].columns.{name}: no code_maps entry {c.code_map!r}")
        return self


# --------------------------------------------------------------------------- manifests


class RuleOverrideModel(Strict):
    """A rule judged differently for one rehearsal, and why (validation/overrides.py)."""

    thresholds: Thresholds | None = None
    severity: Level | None = None
    reason: Text = Field(min_length=1, description="変更の理由 (必須)")


class ManifestFileEntry(Strict):
    id: Text
    path: Text = Field(description="入力ファイル (マニフェストからの相対パス可)")
    layout: Text = Field(description="旧レイアウトの YAML")
    encoding: Text = Field(min_length=1, description="文字コード (cp932, jef …); 推測はしない")


class RehearsalManifest(Strict):
    """移行リハーサルのマニフェスト."""

    name: Text | None = None
    source_system: Text = "legacy"
    mapping: Text = Field(description="マッピングの YAML")
    gaiji_register: Text | None = None
    mj_index: Text | None = None
    unresolved_gaiji: Literal["quarantine", "flag"] = "quarantine"
    rules: dict[str, RuleOverrideModel] | None = None
    files: list[ManifestFileEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> "RehearsalManifest":
        _unique([f.id for f in self.files], "file ids")
        return self


# --------------------------------------------------------------------------- rule catalogues


class RuleCheck(BaseModel):
    """The check that implements a rule: a registered kind and its parameters (each kind's own)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    kind: Text = Field(description="登録済みの検査の種類")


class RuleModel(Strict):
    title: Text = Field(description="ルール名 (日本語)")
    division: Text = Field("", description="担当課")
    severity: Level = "error"
    description: Text = ""
    thresholds: Thresholds = Field(default_factory=dict)
    gyomu: Text = Field("", description="業務 id (空 = リハーサル共通)")
    table: Text = ""
    unit: Literal["件", "人", "世帯"] = "件"
    check: RuleCheck | None = None


class RuleTemplate(Strict):
    """A rule generated once per ISL table that has such items ({table}, {table_id} in the texts)."""

    title: Text
    division: Text = ""
    severity: Level = "error"
    description: Text = ""
    thresholds: Thresholds = Field(default_factory=dict)
    check: RuleCheck


class RuleCatalogueFile(Strict):
    """ルールカタログ (validation/rules/*.yaml, <folder>/rules/*.yaml)."""

    rules: dict[str, RuleModel] = Field(default_factory=dict)
    templates: dict[str, RuleTemplate] = Field(default_factory=dict)
    divisions: dict[str, Text] = Field(default_factory=dict, description="業務 id → 担当課 (default も可)")


# --------------------------------------------------------------------------- EUC definitions

EucOp = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "between", "like", "startswith", "contains",
                "is_null", "not_null"]


class EucFilter(Strict):
    item: Text
    op: EucOp
    value: Any = None


class EucSort(Strict):
    item: Text
    desc: bool = False


def _sort_shorthand(value: Any) -> Any:
    if isinstance(value, str):  # "-item" = descending
        return {"item": value.lstrip("-"), "desc": value.startswith("-")}
    return value


class EucOutput(Strict):
    format: Literal["csv", "xlsx", "parquet"] = "csv"
    encoding: Literal["utf-8", "utf-8-sig", "cp932"] = "utf-8"
    fold_policy: Literal["mj", "geta", "strict"] = "mj"


class EucDefinitionFile(Strict):
    """EUC 抽出定義 (j1360): ISL の項目を id で選び、条件・並び順・基準日を付ける."""

    name: Text | None = None
    table: Identifier = Field(description="ISL テーブル id")
    items: list[Text] = Field(min_length=1, description="出力する項目 id (列名)")
    filters: list[EucFilter] = Field(default_factory=list)
    sort: list[Annotated[EucSort, BeforeValidator(_sort_shorthand, json_schema_input_type=Union[str, EucSort])]] = Field(
        default_factory=list, description="項目 id (降順は -id) または {item, desc}")
    as_of: Annotated[str | None, BeforeValidator(lambda v: v.isoformat() if isinstance(v, dt.date) else v,
                                                 json_schema_input_type=Union[str, None])] = Field(
        None, description="latest | all | 日付 (和暦可)")
    header: Literal["name", "id"] = "name"
    description: Text = ""
    output: EucOutput = Field(default_factory=EucOutput)


# --------------------------------------------------------------------------- the catalogue of kinds

MODELS: dict[str, type[BaseModel]] = {
    "isl-definition": IslDefinition,
    "code-table": CodeTableFile,
    "legacy-layout": LegacyLayoutFile,
    "mapping": MappingFile,
    "manifest": RehearsalManifest,
    "rule-catalogue": RuleCatalogueFile,
    "euc-definition": EucDefinitionFile,
}
