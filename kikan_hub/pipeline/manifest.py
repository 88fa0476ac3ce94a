"""The rehearsal manifest: which legacy files, in which declared encoding, through which layout
and mapping. Everything is checked here, before a single record is read. The file format is the
model definition_models.RehearsalManifest (``kikan schema manifest``)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from kikan_hub.adapters.codecs import get_codec
from kikan_hub.adapters.encoding_alarm import check_declared_encoding
from kikan_hub.adapters.reader import check_header
from kikan_hub.layouts import strict_yaml
from kikan_hub.layouts.definition_models import RehearsalManifest
from kikan_hub.layouts.errors import LayoutError
from kikan_hub.layouts.isl import all_tables, load_code_table
from kikan_hub.layouts.legacy import LegacyLayout, load_legacy_layout
from kikan_hub.mapping.spec import MappingSpec, load_mapping
from kikan_hub.gaiji.register import GaijiRegister
from kikan_hub.pipeline.errors import ConfigError
from kikan_hub.pipeline.register_setup import prepare_register
from kikan_hub.validation.overrides import OverrideError, RuleOverride, parse_overrides

def _utf8(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(path, "マニフェストは UTF-8 の YAML で書いてください") from None


@dataclass(frozen=True)
class ManifestFile:
    id: str
    path: Path
    layout_path: Path
    layout: LegacyLayout
    encoding: str
    sha256: str
    size: int

    @property
    def role_of(self) -> dict[str, str]:
        return {rt.name: rt.role for rt in self.layout.record_types}


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    source_system: str
    mapping: MappingSpec
    register_path: Path | None
    unresolved_gaiji: str
    files: tuple[ManifestFile, ...]
    sha256: str
    register: GaijiRegister | None = None   # as prepared for this run (pua derived), see register_setup
    mj_index_path: Path | None = None       # only when a register row needs the MJ index
    mj_index_digest: str = ""
    rule_overrides: tuple[RuleOverride, ...] = ()   # the manifest's rules: section (validation/overrides.py)

    def source_key(self, file_id: str) -> str:
        return f"{self.source_system}/{file_id}"


def sha256_of(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _resolve(base: Path, value: str | None, what: str, manifest: Path) -> Path:
    if not value:
        raise ConfigError(manifest, f"{what} is not given")
    p = Path(value)
    return p if p.is_absolute() else base / p


def load_manifest(path: Path, check_encoding: bool = True) -> Manifest:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "マニフェストが見つかりません (manifest not found)")
    raw = path.read_bytes()
    data = strict_yaml.validate(RehearsalManifest, strict_yaml.parse_yaml(_utf8(raw, path), path, ConfigError),
                                path, ConfigError)
    base = path.parent
    try:
        overrides = parse_overrides({k: v.model_dump(exclude_none=True) for k, v in data.rules.items()}
                                    if data.rules is not None else None)
    except OverrideError as exc:
        raise ConfigError(path, str(exc)) from None
    try:
        mapping = load_mapping(_resolve(base, data.mapping, "mapping", path))
        register_path = _resolve(base, data.gaiji_register, "gaiji_register", path) if data.gaiji_register else None
        if register_path and not register_path.is_file():
            raise ConfigError(register_path, "外字台帳が見つかりません (gaiji register not found)")
        files = []
        for i, f in enumerate(data.files):
            fpath = _resolve(base, f.path, "path", path)
            if not fpath.is_file():
                raise ConfigError(fpath, f"入力ファイルが見つかりません (file {f.id} not found)")
            layout_path = _resolve(base, f.layout, "layout", path)
            layout = load_legacy_layout(layout_path)
            try:
                # the codec's own name: canonical, with the vendor options that differ from the defaults,
                # so the run records exactly what was read (jef → jef-ebcdik, "JEF-EBCDIK:IVS=HD" → …:ivs=hd)
                codec_name = get_codec(f.encoding).name
            except Exception as exc:  # unknown codec name: the registry's message lists the known ones
                raise ConfigError(path, f"files[{i}]({f.id}).encoding: {exc}") from None
            if check_encoding:
                alarm = check_declared_encoding(fpath, f.encoding)
                if alarm:
                    raise ConfigError(fpath, alarm)
            problem = check_header(fpath, layout, f.encoding)
            if problem:
                raise ConfigError(fpath, problem)
            digest, size = sha256_of(fpath)
            files.append(ManifestFile(id=f.id, path=fpath, layout_path=layout_path, layout=layout,
                                      encoding=codec_name, sha256=digest, size=size))
        _check_mapping(path, mapping, files)
    except LayoutError as exc:
        raise ConfigError(exc.path, exc.message) from None
    source_system = data.source_system
    prepared = None
    if register_path:
        from kikan_hub.gaiji.paths import default_mj_index_path

        idx = _resolve(base, data.mj_index, "mj_index", path) if data.mj_index else default_mj_index_path()
        prepared = prepare_register(register_path, source_system, [f.encoding for f in files], idx)
    return Manifest(path=path, name=data.name or path.stem, source_system=source_system,
                    mapping=mapping, register_path=register_path, unresolved_gaiji=data.unresolved_gaiji,
                    files=tuple(files),
                    sha256=hashlib.sha256(raw).hexdigest(), register=prepared.register if prepared else None,
                    mj_index_path=prepared.mj_index_path if prepared else None,
                    mj_index_digest=prepared.mj_index_digest if prepared else "", rule_overrides=overrides)


def _check_mapping(manifest_path: Path, mapping: MappingSpec, files: list[ManifestFile]) -> None:
    tables = all_tables()
    by_id = {f.id: f for f in files}
    for i, t in enumerate(mapping.targets):
        where = f"targets[{i}]({t.table})"  # the path inside mapping.yaml, as the model's errors name it
        if t.table not in tables:
            raise ConfigError(mapping.path, f"{where}.table: {t.table!r} is not an ISL table ({', '.join(sorted(tables))})")
        f = by_id.get(t.file)
        if f is None:
            raise ConfigError(mapping.path, f"{where}.source.file: {t.file!r} is not a file id of the manifest")
        rts = {rt.name: rt for rt in f.layout.record_types}
        if t.record_type not in rts:
            raise ConfigError(mapping.path, f"{where}.source.record_type: {t.record_type!r} is not in {f.layout_path.name}")
        fields = {fl.name for fl in rts[t.record_type].fields}
        cols = {c.name for c in tables[t.table].columns}
        for c in t.columns:
            if c.target not in cols:
                raise ConfigError(mapping.path, f"{where}.columns.{c.target}: not an item of {t.table}")
            for src in (c.source, c.unknown_from):
                if src and src not in fields:
                    raise ConfigError(mapping.path, f"{where}.columns.{c.target}: source field {src!r} is not in record type {t.record_type}")
            for role, src in (("header", c.from_header), ("trailer", c.from_trailer)):
                have = {fl.name for rt in f.layout.record_types if rt.role == role for fl in rt.fields}
                if src and src not in have:
                    raise ConfigError(mapping.path, f"{where}.columns.{c.target}: from_{role} {src!r} is not a field of a "
                                                    f"{role} record type of {f.layout_path.name} ({', '.join(sorted(have)) or 'none'})")
            _check_column_value(mapping, f"{where}.columns.{c.target}", tables[t.table], c, f)
        for it in tables[t.table].items:
            if it.code:
                load_code_table(it.code)
    for f in files:
        for rt in f.layout.record_types:
            if rt.role == "data" and not mapping.targets_for(f.id, rt.name):
                raise ConfigError(mapping.path, f"data record type {rt.name!r} of file {f.id} has no mapping target; "
                                                "every data record must go somewhere")


def _check_column_value(mapping: MappingSpec, where: str, table, c, f: ManifestFile) -> None:
    """A date item needs a declared date form; a constant is checked once, here, like a value read."""
    import pyarrow as pa

    from kikan_hub.mapping.era_dates import compile_pattern, parse_dates

    item = next((it for it in table.items if it.id == c.target), None)
    if item is not None and item.type in ("date", "wareki_date") and not c.date:
        raise ConfigError(mapping.path, f"{where}: {item.name} is a date: say how it is written "
                                        f"(date: western | era_code | era_letter)")
    if c.date and c.date not in ("western", "era_code", "era_letter"):
        try:  # the pattern against this file's era codes (E needs them)
            compile_pattern(c.date, tuple(sorted((str(k), str(v)) for k, v in f.layout.era_codes.items())))
        except ValueError as exc:
            raise ConfigError(mapping.path, f"{where}: {exc}") from None
    if c.const is None:
        return
    value = str(c.const)
    if c.date:
        parsed = parse_dates(pa.array([value]), c.date, f.layout.era_codes,
                             unknown_allowed=bool(item and item.unknown_allowed))
        if parsed.invalid[0]:
            raise ConfigError(mapping.path, f"{where}: const {value!r} is not a {c.date} date ({parsed.reason[0]})")
    if c.code_map is not None:
        if value not in c.code_map:
            raise ConfigError(mapping.path, f"{where}: const {value!r} is not in the code map "
                                            f"{c.code_map_name or ''} ({', '.join(sorted(c.code_map))})")
        value = c.code_map[value]
    if item is not None and item.code and value not in load_code_table(item.code).codes:
        raise ConfigError(mapping.path, f"{where}: const {value!r} is not a code of コード表「{item.code}」")
