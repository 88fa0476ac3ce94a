"""COBOL copybook → legacy layout (the YAML of ``docs/architecture.md``).

What a copybook says, and what it becomes:

* ``01`` records → record types (several 01s, or ``01 B REDEFINES A``, are alternatives of one
  file; the record length is the longest). Names are lower-cased with ``-`` → ``_``.
* ``PIC X(n)`` / ``A`` → ``text``; ``PIC 9(n)`` (unsigned, no ``V``) → ``digits`` (leading zeros
  kept: numbers, codes, dates); ``PIC S9 / 9V9`` DISPLAY → ``zoned`` with ``scale`` (overpunch signs
  in the last byte); ``COMP-3`` / ``PACKED-DECIMAL`` → ``packed``; ``COMP`` / ``BINARY`` / ``COMP-4``
  / ``COMP-5`` → ``binary`` (big-endian, 2/4/8 bytes by digits; ``signed`` with S); ``PIC N`` /
  ``PIC G`` (DISPLAY-1 / NATIONAL) → ``dbcs`` (pure double-byte, no shift codes); edited pictures
  (``Z``, ``-``, ``.`` …) → ``text``; ``FILLER`` → ``filler``.
* ``OCCURS n`` (fixed) → one list-valued field (``occurs``/``stride``); on a group, each of its
  elementary items. ``OCCURS … DEPENDING ON`` is refused (the record length would vary).
* ``REDEFINES`` inside a record → one record type per alternative (the common fields plus that
  alternative's fields), told apart by the discriminator field the user names, with the codes the
  user gives (``--code ALT=VALUE``) or, failing that, the level-88 values of the discriminator
  whose condition names end in the alternative's name.
* level 88 → ``code_tables`` (value → condition name) and the field's ``code_table``.

Every error names the copybook line. This module imports nothing else of the hub.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kikan_hub.layouts.errors import LayoutError


class CopybookError(LayoutError):
    """A copybook the importer cannot turn into a layout; the message names the line."""


@dataclass
class Item:
    level: int
    name: str
    line: int
    pic: str | None = None
    usage: str = "DISPLAY"
    occurs: int | None = None
    redefines: str | None = None
    sign_separate: bool = False
    sign_leading: bool = False
    values: list[str] = field(default_factory=list)          # level 88
    children: list["Item"] = field(default_factory=list)
    conditions: list["Item"] = field(default_factory=list)   # level 88 under this item
    offset: int = 0
    size: int = 0

    @property
    def is_group(self) -> bool:
        return self.pic is None and self.level != 88


_USAGES = {"COMP": "BINARY", "COMP-4": "BINARY", "COMP-5": "BINARY", "BINARY": "BINARY", "COMPUTATIONAL": "BINARY",
           "COMPUTATIONAL-4": "BINARY", "COMPUTATIONAL-5": "BINARY", "COMP-3": "PACKED", "COMPUTATIONAL-3": "PACKED",
           "PACKED-DECIMAL": "PACKED", "DISPLAY": "DISPLAY", "DISPLAY-1": "DBCS", "NATIONAL": "DBCS"}
_UNSUPPORTED_USAGE = {"COMP-1", "COMP-2", "COMPUTATIONAL-1", "COMPUTATIONAL-2", "POINTER", "INDEX"}


def _name(cobol: str) -> str:
    n = cobol.lower().replace("-", "_")
    return n if not n[:1].isdigit() else f"f_{n}"


# --------------------------------------------------------------------------- reading


def _source_lines(text: str) -> list[tuple[int, str]]:
    """(line number, code text) without comments, sequence numbers or the identification area."""
    lines = text.splitlines()
    fixed = any(len(ln) > 6 and re.fullmatch(r"[0-9 ]{6}", ln[:6]) and ln[6] in " *-/D" and ln[:6].strip()
                for ln in lines) or any(len(ln) > 7 and ln[:6] == "      " and ln[6] in "*/" for ln in lines)
    out = []
    for no, ln in enumerate(lines, 1):
        if fixed:
            if len(ln) > 6 and ln[6] in "*/":
                continue
            code = ln[7:72] if len(ln) > 7 else ""
        else:
            stripped = ln.lstrip()
            if stripped.startswith(("*", "*>")):
                continue
            code = ln.split("*>", 1)[0]
        if code.strip():
            out.append((no, code))
    return out


_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[^\s]+")


def _entries(text: str) -> list[tuple[int, list[str]]]:
    """Copybook entries (ended by a period), each with the line it starts on and its tokens."""
    entries: list[tuple[int, list[str]]] = []
    cur: list[str] = []
    start = 0
    for no, code in _source_lines(text):
        for tok in _TOKEN.findall(code):
            if not cur:
                start = no
            ends = tok.endswith(".") and not tok.startswith(("'", '"'))
            if ends:
                tok = tok[:-1]
            if tok:
                cur.append(tok)
            if ends:
                entries.append((start, cur))
                cur = []
    if cur:
        entries.append((start, cur))  # a last entry without its period: accepted
    return entries


def _parse_entry(line: int, toks: list[str]) -> Item:
    def err(msg: str) -> CopybookError:
        return CopybookError(f"line {line}", msg)

    if not toks[0].isdigit():
        raise err(f"an entry starts with a level number, got {toks[0]!r}")
    level = int(toks[0])
    if level == 66:
        raise err("level 66 (RENAMES) is not supported")
    if not (1 <= level <= 49 or level in (77, 88)):
        raise err(f"level {level} is not a data description level")
    rest = toks[1:]
    name = "FILLER"
    if rest and rest[0].upper() not in ("PIC", "PICTURE", "REDEFINES", "OCCURS", "USAGE", "VALUE", "VALUES") \
            and not rest[0].upper().startswith(("COMP", "BINARY", "PACKED", "DISPLAY", "NATIONAL")):
        name = rest[0].upper()
        rest = rest[1:]
    item = Item(level=77 if level == 77 else level, name=name, line=line)
    i = 0
    up = [t.upper() for t in rest]
    while i < len(rest):
        t = up[i]
        if level == 88:
            if t in ("VALUE", "VALUES", "IS", "ARE"):
                i += 1
                continue
            if t in ("THRU", "THROUGH"):
                raise err(f"88 {name}: VALUE … THRU ranges are not supported as code tables")
            item.values.append(_literal(rest[i], err))
            i += 1
            continue
        if t in ("PIC", "PICTURE"):
            i += 1
            if i < len(rest) and up[i] == "IS":
                i += 1
            if i >= len(rest):
                raise err(f"{name}: PIC without a picture")
            item.pic = up[i]
            i += 1
        elif t == "REDEFINES":
            if i + 1 >= len(rest):
                raise err(f"{name}: REDEFINES without a name")
            item.redefines = up[i + 1]
            i += 2
        elif t == "OCCURS":
            nums = []
            j = i + 1
            while j < len(rest) and up[j] not in ("PIC", "PICTURE", "USAGE", "VALUE", "REDEFINES") \
                    and not _is_usage(up[j]):
                nums.append(up[j])
                j += 1
            if "DEPENDING" in nums:
                raise err(f"{name}: OCCURS … DEPENDING ON (variable length) is not supported; "
                          f"a fixed layout needs a fixed number of occurrences")
            counts = [n for n in nums if n.isdigit()]
            if "TO" in nums or len(counts) != 1:
                raise err(f"{name}: OCCURS needs one fixed count (OCCURS n TIMES), got {' '.join(nums)!r}")
            item.occurs = int(counts[0])
            i = j
        elif t == "USAGE":
            i += 1
            if i < len(rest) and up[i] == "IS":
                i += 1
        elif _is_usage(t):
            if t in _UNSUPPORTED_USAGE:
                raise err(f"{name}: USAGE {t} (floating point / pointer) is not supported")
            item.usage = _USAGES[t]
            i += 1
        elif t in ("VALUE", "VALUES"):
            i += 2  # an initial value: irrelevant to the layout
        elif t == "SIGN":
            i += 1
        elif t in ("LEADING", "TRAILING"):
            item.sign_leading = t == "LEADING"
            i += 1
        elif t == "SEPARATE":
            item.sign_separate = True
            i += 1
            if i < len(rest) and up[i] == "CHARACTER":
                i += 1
        elif t in ("IS", "TIMES", "JUSTIFIED", "JUST", "RIGHT", "SYNC", "SYNCHRONIZED", "BLANK", "WHEN", "ZERO",
                   "ZEROS", "ZEROES", "GLOBAL", "EXTERNAL", "CHARACTER"):
            i += 1
        else:
            raise err(f"{name}: cannot read {rest[i]!r}")
    if level == 88 and not item.values:
        raise err(f"88 {name}: no VALUE")
    return item


def _is_usage(t: str) -> bool:
    return t in _USAGES or t in _UNSUPPORTED_USAGE


def _literal(tok: str, err) -> str:
    if tok[:1] in "'\"":
        return tok[1:-1].replace(tok[0] * 2, tok[0])
    if re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", tok):
        return tok
    if tok.upper() in ("SPACE", "SPACES"):
        return " "
    if tok.upper() in ("ZERO", "ZEROS", "ZEROES"):
        return "0"
    raise err(f"cannot read the value {tok!r}")


# --------------------------------------------------------------------------- pictures and sizes


@dataclass(frozen=True)
class Picture:
    kind: str      # alnum, numeric, dbcs, edited
    digits: int    # numeric: total digits; others: characters
    scale: int
    signed: bool


def _expand(pic: str, err) -> str:
    out = []
    for m in re.finditer(r"(.)(?:\((\d+)\))?", pic):
        ch, n = m.group(1), m.group(2)
        out.append(ch * (int(n) if n else 1))
    s = "".join(out)
    if not s:
        raise err(f"empty picture {pic!r}")
    return s


def picture(pic: str, line: int) -> Picture:
    def err(msg: str) -> CopybookError:
        return CopybookError(f"line {line}", msg)

    s = _expand(pic, err)
    signed = s.startswith("S")
    body = s[1:] if signed else s
    if "P" in body:
        raise err(f"PIC {pic}: scaling position P is not supported")
    if set(body) <= set("X") or set(body) <= set("A") or set(body) <= set("XA9") and set(body) & set("XA"):
        return Picture("alnum", len(body), 0, False)
    if set(body) <= set("N") or set(body) <= set("G"):
        return Picture("dbcs", len(body), 0, False)
    if set(body) <= set("9V") and body.count("V") <= 1:
        digits = body.replace("V", "")
        scale = len(body) - body.index("V") - 1 if "V" in body else 0
        return Picture("numeric", len(digits), scale, signed)
    if set(body) <= set("9ZB0/,.+-*$CRD"):
        return Picture("edited", len(body), 0, False)
    raise err(f"PIC {pic}: picture not understood")


def _size(item: Item) -> int:
    p = picture(item.pic or "", item.line)
    if p.kind == "dbcs":
        return 2 * p.digits
    if p.kind != "numeric":
        if item.usage not in ("DISPLAY", "DBCS"):
            raise CopybookError(f"line {item.line}", f"{item.name}: USAGE {item.usage} needs a numeric picture")
        return p.digits
    if item.usage == "PACKED":
        return p.digits // 2 + 1
    if item.usage == "BINARY":
        if p.digits > 18:
            raise CopybookError(f"line {item.line}", f"{item.name}: binary fields hold at most 18 digits")
        return 2 if p.digits <= 4 else 4 if p.digits <= 9 else 8
    return p.digits + (1 if item.sign_separate else 0)


def _layout_sizes(item: Item, offset: int) -> int:
    """Assign offsets and sizes (REDEFINES share the redefined item's offset)."""
    item.offset = offset
    if not item.is_group:
        item.size = _size(item)
    else:
        pos = offset
        by_name: dict[str, Item] = {}
        for ch in item.children:
            if ch.redefines:
                base = by_name.get(ch.redefines)
                if base is None:
                    raise CopybookError(f"line {ch.line}", f"{ch.name} REDEFINES {ch.redefines}, which is not an "
                                                           f"earlier item of the same group")
                size = _layout_sizes(ch, base.offset)
                end = base.offset + max(size, base.size * (base.occurs or 1))
                pos = max(pos, end)
            else:
                size = _layout_sizes(ch, pos)
                pos += size * (ch.occurs or 1)
            by_name[ch.name] = ch
        item.size = pos - offset
    return item.size


def _tree(entries: list[Item]) -> list[Item]:
    """Nest items by level; level-88 entries attach to the item before them."""
    roots: list[Item] = []
    stack: list[Item] = []
    last: Item | None = None
    for it in entries:
        if it.level == 88:
            if last is None:
                raise CopybookError(f"line {it.line}", f"88 {it.name} has no item to belong to")
            last.conditions.append(it)
            continue
        level = 1 if it.level in (1, 77) else it.level
        while stack and stack[-1].level >= level:
            stack.pop()
        if not stack:
            if level != 1:
                if not roots:
                    # a copybook of only the record's body (05 …): one implied record
                    root = Item(level=1, name="RECORD", line=it.line)
                    roots.append(root)
                    stack.append(root)
                else:
                    stack.append(roots[-1])
            else:
                roots.append(it)
                stack.append(it)
                last = it
                continue
        parent = stack[-1]
        if parent.pic is not None:
            raise CopybookError(f"line {it.line}", f"{it.name} is under {parent.name}, which has a PIC "
                                                   f"(line {parent.line}); only groups have subordinate items")
        parent.children.append(it)
        stack.append(it)
        last = it
    return roots


# --------------------------------------------------------------------------- to layout


@dataclass
class _Out:
    fields: list[dict[str, Any]]
    code_tables: dict[str, dict[str, str]]
    names: set[str]


def _field_dict(item: Item, offset: int, occurs: int | None, stride: int | None, out: _Out,
                path: list[str]) -> None:
    p = picture(item.pic or "", item.line)
    fd: dict[str, Any] = {}
    if item.name == "FILLER":
        fd.update(name=f"filler_{offset + 1}", type="filler")
    else:
        name = _name(item.name)
        if name in out.names:  # the same name in two groups: qualify with the group
            name = "_".join([*[_name(x) for x in path[-1:]], name])
        if name in out.names:
            raise CopybookError(f"line {item.line}", f"{item.name}: the name is used twice in the record "
                                                     f"(also as {name})")
        out.names.add(name)
        fd["name"] = name
        if p.kind == "dbcs":
            fd["type"] = "dbcs"
        elif p.kind in ("alnum", "edited"):
            fd["type"] = "text"
        elif item.usage == "PACKED":
            fd["type"] = "packed"
        elif item.usage == "BINARY":
            fd["type"] = "binary"
            if p.signed:
                fd["signed"] = True
        elif item.sign_separate:
            fd["type"] = "integer"
            fd["sign"] = "leading" if item.sign_leading else "trailing"
            if p.scale:
                raise CopybookError(f"line {item.line}", f"{item.name}: SIGN SEPARATE with V is not supported")
        elif p.signed or p.scale:
            if item.sign_leading:
                raise CopybookError(f"line {item.line}", f"{item.name}: SIGN LEADING (not separate) is not supported")
            fd["type"] = "zoned"
        else:
            fd["type"] = "digits"
        if fd["type"] in ("zoned", "packed", "binary") and p.scale:
            fd["scale"] = p.scale
    fd["start"] = offset + 1
    fd["length"] = item.size
    if occurs and fd["type"] != "filler":
        fd["occurs"] = occurs
        if stride and stride != item.size:
            fd["stride"] = stride
    fd["note"] = f"copybook line {item.line}: {item.level:02d} {item.name}" + (f" PIC {item.pic}" if item.pic else "") + \
        ("" if item.usage == "DISPLAY" else f" {item.usage}")
    if item.conditions and fd["type"] != "filler":
        table = f"{fd['name']}_codes"
        codes: dict[str, str] = {}
        for c in item.conditions:
            for v in c.values:
                codes[v] = _name(c.name)
        out.code_tables[table] = codes
        fd["code_table"] = table
    if occurs and fd["type"] == "filler":
        # a repeated filler: one filler over the whole span
        fd["length"] = (occurs - 1) * (stride or item.size) + item.size
    out.fields.append(fd)


def _flatten(item: Item, out: _Out, occurs: int | None = None, stride: int | None = None, base: int = 0,
             path: list[str] | None = None, skip: set[int] | None = None) -> None:
    path = path or []
    for ch in item.children:
        if skip and id(ch) in skip:
            continue
        if ch.occurs and occurs:
            raise CopybookError(f"line {ch.line}", f"{ch.name}: OCCURS inside OCCURS is not supported")
        occ = ch.occurs or occurs
        st = (ch.size if ch.occurs else stride)
        if ch.is_group:
            _flatten(ch, out, occ, st, base, path + [ch.name], skip)
        else:
            _field_dict(ch, ch.offset - base, occ, st, out, path)


def _alternatives(record: Item) -> list[tuple[str, set[int], Item | None]]:
    """(record type name, items to leave out, the alternative) per REDEFINES alternative of a record."""
    groups: list[list[Item]] = []

    def walk(it: Item) -> None:
        for ch in it.children:
            if ch.redefines:
                for g in groups:
                    if any(x.name == ch.redefines for x in g):
                        g.append(ch)
                        break
                else:
                    base = next(x for x in it.children if x.name == ch.redefines)
                    groups.append([base, ch])
            walk(ch)

    walk(record)
    if not groups:
        return [(_name(record.name), set(), None)]
    if len(groups) > 1:
        raise CopybookError(f"line {groups[1][1].line}", f"{record.name}: more than one REDEFINES set in a record "
                                                         f"(lines {groups[0][1].line} and {groups[1][1].line}); "
                                                         f"split the copybook into one record per alternative")
    alts = groups[0]
    out = []
    for alt in alts:
        others = {id(x) for x in alts if x is not alt}
        out.append((_name(alt.name), others, alt))
    return out


def import_copybook(path: str | Path, encoding: str = "ibm930", layout_id: str | None = None,
                    record_types: list[str] | None = None, discriminator: str | None = None,
                    codes: dict[str, str] | None = None, roles: dict[str, str] | None = None,
                    terminator: str = "none") -> dict[str, Any]:
    """Read a copybook and return the legacy layout as a dict (ready for YAML)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise CopybookError(path, f"cannot open the copybook: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CopybookError(path, f"the copybook must be UTF-8 (bad byte at offset {exc.start})") from None
    try:
        items = [_parse_entry(line, toks) for line, toks in _entries(text)]
        roots = _tree(items)
        if not roots:
            raise CopybookError("line 1", "no data description entries")
        for r in roots:
            _layout_sizes(r, 0)
        # record types: each 01 (and each REDEFINES alternative inside one)
        types: list[tuple[str, Item, set[int], Item | None]] = []
        for r in roots:
            for name, skip, alt in _alternatives(r):
                types.append((name, r, skip, alt))
        if record_types:
            wanted = [_name(n) for n in record_types]
            unknown = [n for n in wanted if n not in {t[0] for t in types}]
            if unknown:
                raise CopybookError("--record-type", f"no record type {', '.join(unknown)} in the copybook "
                                                     f"(there are: {', '.join(t[0] for t in types)})")
            types = [t for t in types if t[0] in wanted]
        codes = {_name(k): v for k, v in (codes or {}).items()}
        roles = {_name(k): v for k, v in (roles or {}).items()}
        record_length = max(r.size for _, r, _, _ in types)
        out_types = []
        code_tables: dict[str, dict[str, str]] = {}
        disc_field: dict[str, Any] | None = None
        for name, root, skip, _alt in types:
            o = _Out([], code_tables, set())
            _flatten(root, o, skip=skip)
            rt: dict[str, Any] = {"name": name, "role": roles.get(name, "data"),
                                  "description": f"copybook {path.name} line {root.line}", "fields": o.fields}
            out_types.append(rt)
            if discriminator:
                d = next((f for f in o.fields if f["name"] == _name(discriminator)), None)
                if d is None:
                    raise CopybookError("--discriminator", f"record type {name} has no field {discriminator!r}")
                if disc_field and (d["start"], d["length"]) != (disc_field["start"], disc_field["length"]):
                    raise CopybookError("--discriminator", f"{discriminator!r} lies at different bytes in "
                                                           f"different record types")
                disc_field = d
        if len(out_types) > 1 and not discriminator:
            raise CopybookError(path, f"the copybook has {len(out_types)} record types "
                                      f"({', '.join(t['name'] for t in out_types)}): name the field that tells them "
                                      f"apart with --discriminator FIELD (and --code TYPE=VALUE), or pick one with "
                                      f"--record-type")
        layout: dict[str, Any] = {"layout": layout_id or re.sub(r"[^A-Za-z0-9]+", "-", path.stem).upper(),
                                  "description": f"imported from COBOL copybook {path.name}",
                                  "format": "fixed", "encoding": encoding, "record_length": record_length,
                                  "terminator": terminator}
        if discriminator and disc_field is not None:
            layout["discriminator"] = {"start": disc_field["start"], "length": disc_field["length"]}
            table = code_tables.get(disc_field.get("code_table", ""), {})
            for rt in out_types:
                code = codes.get(rt["name"])
                if code is None:  # the level-88 value whose condition name ends in the type's name
                    hits = [v for v, cond in table.items() if cond == rt["name"] or cond.endswith("_" + rt["name"])]
                    if len(hits) != 1:
                        raise CopybookError("--code", f"record type {rt['name']}: give its {discriminator} value "
                                                      f"with --code {rt['name']}={'…'} (no single level-88 value names it)")
                    code = hits[0]
                rt["code"] = code
            out_types = [{"name": rt["name"], "code": rt["code"], **{k: v for k, v in rt.items() if k not in ("name", "code")}}
                         for rt in out_types]
        if code_tables:
            layout["code_tables"] = code_tables
        layout["record_types"] = out_types
        return layout
    except CopybookError as exc:
        if exc.path != path and str(exc.path).startswith(("line", "--")):
            raise CopybookError(path, f"{exc.path}: {exc.message}") from None
        raise
