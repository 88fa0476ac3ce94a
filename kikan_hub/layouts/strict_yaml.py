"""Read a definition file strictly and validate it against its model, with errors a user can act on.

* ``read_yaml``: UTF-8 only, a duplicate key is an error (a silent overwrite hides a typo), a syntax
  error names the line and column.
* ``validate``: the model (definition_models) judges the document; every problem is reported as
  ``<file>: <path inside it>: <what is wrong>`` — ``mapping.yaml: targets[0]: expected a mapping,
  got 'juki_jumin'`` — and an unknown key lists the allowed ones.

The error class is the caller's (LayoutError for definitions, the pipeline's ConfigError for a
manifest, EucError for an EUC definition): ``error(path, message)``.
"""
from __future__ import annotations

import collections
import threading
import types
import typing
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from kikan_hub.layouts.errors import LayoutError

M = TypeVar("M", bound=BaseModel)
ErrorFactory = Callable[[Path, str], Exception]
MAX_ERRORS = 5  # more than this and the first ones are what to fix first


# --------------------------------------------------------------------------- YAML without duplicate keys


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    # Fast path on the key texts (code tables have 16k keys); construct one by one only on a suspect.
    texts = [k.value if isinstance(k, yaml.ScalarNode) else id(k) for k, _ in node.value
             if k.tag != "tag:yaml.org,2002:merge"]
    if len(texts) != len(set(texts)):
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
    out = yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)
    if len(node.value) <= LINE_KEYS_LIMIT:
        loader.lines[id(out)] = {str(k.value): k.start_mark.line + 1 for k, _ in node.value
                                 if isinstance(k, yaml.ScalarNode)}
    return out


def _construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> list:
    out = loader.construct_sequence(node)
    loader.lines[id(out)] = [n.start_mark.line + 1 for n in node.value]
    return out


class UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader (libyaml's parser when present: code tables are large) refusing duplicate keys,
    and keeping the line of every key and list item so that an error can say where it is."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.lines: dict[int, Any] = {}   # id(dict) → {key text: line}; id(list) → [line of item]


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
LINE_KEYS_LIMIT = 2000  # a 16k-code table's keys need no line each (their errors name the key)

# Documents recently parsed → their lines, for validate() (the document object is kept with them, so
# its id cannot be reused while the entry lives; a few entries: a loader validates what it just read).
_RECENT: "collections.OrderedDict[int, tuple[Any, dict[int, Any]]]" = collections.OrderedDict()


def _remember(data: Any, lines: dict[int, Any]) -> None:
    if isinstance(data, (dict, list)):
        with _RECENT_LOCK:
            _RECENT[id(data)] = (data, lines)
            while len(_RECENT) > 8:
                _RECENT.popitem(last=False)


def _lines_of(data: Any) -> dict[int, Any]:
    with _RECENT_LOCK:
        entry = _RECENT.get(id(data))
    return entry[1] if entry is not None and entry[0] is data else {}


_RECENT_LOCK = threading.Lock()


def parse_yaml(text: str, path: Path | str, error: ErrorFactory = LayoutError) -> Any:
    try:
        loader = UniqueKeyLoader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
        _remember(data, loader.lines)
        return data
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        problem = getattr(exc, "problem", None) or str(exc)
        if problem.startswith("found duplicate key"):
            raise error(Path(path), f"{where}: {problem[6:]} — 同じキーが二度書かれています") from None
        raise error(Path(path), f"YAML として読めません (YAML error at {where}): {problem}") from None


def read_yaml(path: Path | str, error: ErrorFactory = LayoutError, what: str = "定義ファイル") -> Any:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(path, f"{what}を開けません (cannot open): {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(path, f"{what}は UTF-8 で書いてください (must be UTF-8; bad byte at offset {exc.start})") from None
    return parse_yaml(text, path, error)


# --------------------------------------------------------------------------- validation and messages


def validate(model: type[M], data: Any, path: Path | str, error: ErrorFactory = LayoutError) -> M:
    """``model`` judging ``data`` (read from ``path``); any problem → ``error(path, message)``."""
    if data is None:
        raise error(Path(path), "ファイルが空です (the file is empty)")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(Path(path), describe(model, data, exc)) from None


def load(model: type[M], path: Path | str, error: ErrorFactory = LayoutError, what: str = "定義ファイル") -> M:
    """Read ``path`` strictly and validate it against ``model``."""
    return validate(model, read_yaml(path, error, what), path, error)


def describe(model: type[BaseModel], data: Any, exc: ValidationError) -> str:
    errors = _dedupe(data, exc.errors(include_url=False))
    lines = [_one(model, data, e) for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        lines.append(f"… 他 {len(errors) - MAX_ERRORS} 件 ({len(errors) - MAX_ERRORS} more)")
    return lines[0] if len(lines) == 1 else "\n  ".join([f"{len(errors)} problems:"] + lines)


def _dedupe(data: Any, errors: list[dict]) -> list[dict]:
    """One message per place (a union reports each member's failure at the same path)."""
    out: dict[tuple, dict] = {}
    for e in errors:
        loc = _clean_loc(data, e["loc"], e["type"])
        if loc not in out:
            out[loc] = {**e, "loc": loc}
        elif e["type"] in ("float_type", "float_parsing"):  # int | float: say "a number", not "an integer"
            out[loc] = {**e, "loc": loc}
    return list(out.values())


def _clean_loc(data: Any, loc: tuple, kind: str) -> tuple:
    """The path in the document: pydantic's location with its own steps (union members such as
    'str', validators such as 'function-before[…]') left out, told apart by walking the data."""
    out: list = []
    node = data
    for i, part in enumerate(loc):
        if part == "[key]":
            out.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif i == len(loc) - 1 and kind == "missing":
            out.append(part)  # a key that is not there
    return tuple(out)


def _one(model: type[BaseModel], data: Any, e: dict) -> str:
    loc = list(e["loc"])
    _, line = location(data, [p for p in loc if p != "[key]"], _lines_of(data))  # the innermost line known
    kind = e["type"]
    got = _show(e.get("input"))
    if kind == "invalid_key" or (loc and loc[-1] == "[key]" and kind in ("string_type", "string_sub_type")):
        loc = loc[:-1] if loc and loc[-1] == "[key]" else loc  # a key written as a number (a code, 1,000 …)
        key = loc.pop() if loc else e.get("input")
        msg = f"key {_show(key)} must be text (write it in quotes)"
    elif loc and loc[-1] == "[key]" and kind == "literal_error":
        loc = loc[:-2]
        msg = f"unknown key {got} — 使えるキー (allowed keys): {e['ctx']['expected'].replace(' or ', ', ')}"
    elif kind == "extra_forbidden" and loc:
        key = loc.pop()
        allowed = allowed_keys(model, loc)
        msg = f"unknown key {key!r} — 使えるキー (allowed keys): {', '.join(allowed)}"
    elif kind == "missing" and loc:
        key = loc.pop()
        about = field_description(model, loc, key)
        msg = f"missing key {key!r} (必須の項目がありません" + (f": {about})" if about else ")")
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        msg = f"expected a mapping, got {got}"
    elif kind in ("list_type", "tuple_type"):
        msg = f"expected a list, got {got}"
    elif kind in ("string_type", "string_sub_type"):
        msg = f"expected text, got {got}"
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        msg = f"expected an integer, got {got}"
    elif kind in ("float_type", "float_parsing"):
        msg = f"expected a number, got {got}"
    elif kind in ("bool_type", "bool_parsing"):
        msg = f"expected true or false, got {got}"
    elif kind == "literal_error":
        msg = f"{got} is not allowed; one of {e['ctx']['expected']}"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(e["ctx"].values()))
        msg = f"must be {op} {bound}, got {got}"
    elif kind == "string_pattern_mismatch":
        msg = f"{got} does not match {e['ctx']['pattern']}"
    elif kind in ("too_short", "string_too_short"):
        msg = f"must not be empty, got {got}"
    elif kind == "value_error":
        msg = str(e["ctx"]["error"]) if e.get("ctx", {}).get("error") else e["msg"]
    else:
        msg = f"{e['msg']}, got {got}"
    where, _ = location(data, loc)
    at = f" (line {line})" if line else ""
    return f"{where}: {msg}{at}" if where else f"{msg}{at}"


def location(data: Any, loc: list, lines: dict[int, Any] | None = None) -> tuple[str, int | None]:
    """``record_types[1](resident).fields[5](pad).type``: list positions carry the element's id or name;
    with the document's ``lines``, `` (line N)`` of the innermost key or list item follows."""
    out = ""
    node = data
    line = None
    lines = lines or {}
    for part in loc:
        known = lines.get(id(node))
        if isinstance(part, int) and isinstance(known, list) and part < len(known):
            line = known[part]
        elif isinstance(known, dict) and str(part) in known:
            line = known[str(part)]
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            label = next((node[k] for k in ("id", "name", "table") if k in node), None) if isinstance(node, dict) else None
            if isinstance(label, (str, int)) and not isinstance(label, bool):
                out += f"({label})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out, line


def allowed_keys(model: type[BaseModel], loc: list) -> list[str]:
    """The keys the model allows at ``loc`` (walking fields, list elements and dict values)."""
    ann = _strip(_annotation_at(model, loc))
    return [f.alias or name for name, f in ann.model_fields.items()] if _is_model(ann) else []


def field_description(model: type[BaseModel], loc: list, key: str) -> str:
    ann = _strip(_annotation_at(model, loc))
    field = _is_model(ann) and next((f for name, f in ann.model_fields.items() if key in (name, f.alias)), None)
    return (field.description or "") if field else ""


def _annotation_at(model: type[BaseModel], loc: list) -> Any:
    ann: Any = model
    for part in loc:
        ann = _strip(ann)
        origin = typing.get_origin(ann)
        if origin in (list, tuple, set):
            ann = typing.get_args(ann)[0]
        elif origin is dict:
            ann = typing.get_args(ann)[1]
        elif _is_model(ann):
            field = next((f for name, f in ann.model_fields.items() if part in (name, f.alias)), None)
            ann = field.annotation if field is not None else None
        else:
            return None
    return ann


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _strip(ann: Any) -> Any:
    """Annotated[X, …] → X; an optional or a union → its structured member (a model, list or dict)."""
    for _ in range(8):
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(ann) if a is not type(None)]
            structured = [a for a in members if _is_model(_strip(a))
                          or typing.get_origin(_strip(a)) in (list, tuple, set, dict)]
            ann = (structured or members)[0]
        else:
            return ann
    return ann


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
