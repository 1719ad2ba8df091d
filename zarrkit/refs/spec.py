"""The fsspec reference spec (versions 0 and 1) read into a :class:`ReferenceSet`, and written back.

Version 0 is a JSON object that maps each key to its value: a string (inline text, or binary as
``"base64:..."``), any other JSON value but a list (inline JSON), ``[url]`` (a whole file) or
``[url, offset, length]`` (a byte range); a ``null`` url stands for the default target. Version 1
is ``{"version": 1, "templates": {...}, "gen": [...], "refs": {...}}``: ``refs`` holds entries as
version 0 does, its URLs may use the ``templates``, and each ``gen`` item generates references
over the cartesian product of its dimensions.

Templates are jinja strings in the spec. zarrkit renders the subset that reference files use
without jinja and without running code: ``{{ expression }}`` where the expression is made of
integer and string constants, names of templates and gen dimensions, ``+ - * // %``, ``/`` when
the division is exact, unary minus, parentheses, and calls of templates with keyword arguments
(``{{f(c='text')}}`` renders template ``f`` with ``c = 'text'``). Anything else is refused.

A top-level object with ``refs`` but no ``version`` is read as version 1 when its other members
are version 1 fields only (kerchunk has written such files); fsspec would read it as version 0
with a key named ``refs``, which no writer means.

zarrkit extension: a version 1 set may hold ``"mounts": {"prefix/": "url of another reference
file"}``; the set loaded from each URL appears under its prefix (:meth:`ReferenceSet.mount`).
"""

from __future__ import annotations

import ast
import base64
import binascii
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from zarrkit.errors import ReferenceError
from zarrkit.refs.model import Entry, Reference, References, ReferenceSet

MountLoader = Callable[[str], References]
"""``mount_loader(url) -> References``: the reference set that a ``mounts`` URL names. It should
return quickly (a References that loads on first lookup) rather than read the file itself."""

VERSION_1_FIELDS = frozenset({"version", "templates", "gen", "refs", "mounts"})
"""The top-level members of a version 1 reference set (``mounts`` is zarrkit's extension)."""

_BASE64_PREFIX = "base64:"
_DECIMAL = re.compile(r"\s*([0-9]+)\s*")
_TEMPLATE_SYNTAX = ("{{", "{%", "{#")


# -- values ---------------------------------------------------------------------------------------


def compact_json(document: object) -> bytes:
    """``document`` as compact UTF-8 JSON (no spaces, non-ASCII text as it is), as reference files
    and the parquet layout store JSON. Raises TypeError or ValueError for what JSON cannot hold,
    UnicodeEncodeError for text that is not valid unicode."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_value(key: str, value: object, where: str) -> Entry:
    """The entry that a reference value of the spec stands for, URL templates not yet rendered.

    ``where`` names the reference file in messages. Raises ReferenceError naming the key for bad
    base64, a list that is not ``[url]`` or ``[url, offset, length]``, an offset or length that is
    not an integer >= 0, or a value that is not JSON.
    """
    if isinstance(value, str):
        if value.startswith(_BASE64_PREFIX):
            try:
                return base64.b64decode(value[len(_BASE64_PREFIX) :], validate=True)
            except (binascii.Error, ValueError):
                raise ReferenceError(f"invalid base64 value of key {key!r} in {where}") from None
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ReferenceError(f"the text value of key {key!r} in {where} is not valid unicode: {error}") from None
    if isinstance(value, (list, tuple)):
        return _reference_from_list(key, value, where)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    try:
        # kerchunk writes metadata such as .zarray as JSON objects; they stand for their JSON text.
        return json.dumps(value, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise ReferenceError(f"the value of key {key!r} in {where} is not JSON: {error}") from None


def _reference_from_list(key: str, value: Sequence[object], where: str) -> Reference:
    if len(value) not in (1, 3):
        raise ReferenceError(
            f"invalid reference for key {key!r} in {where}: expected [url] or [url, offset, length], got {value!r}"
        )
    url = value[0]
    if url is not None and not isinstance(url, str):
        raise ReferenceError(f"invalid reference for key {key!r} in {where}: the url {url!r} is not a string or null")
    if len(value) == 1:
        return Reference(url)
    offset = _count(value[1], f"the offset of key {key!r} in {where}")
    length = _count(value[2], f"the length of key {key!r} in {where}")
    return Reference(url, offset, length)


def _count(value: object, what: str) -> int:
    """``value`` as an integer >= 0; decimal strings are accepted as well."""
    if isinstance(value, str) and (match := _DECIMAL.fullmatch(value)):
        return int(match.group(1))
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ReferenceError(f"{what} must be an integer >= 0, got {value!r}")


# -- reading a spec -------------------------------------------------------------------------------


def parse_references(
    spec: Mapping[str, object], *, mount_loader: MountLoader | None = None, where: str = "<dict>"
) -> ReferenceSet:
    """The reference set that ``spec`` (a version 0 or 1 reference dict, as JSON decodes it) describes.

    Templates are rendered and ``gen`` is expanded; ``mounts`` are loaded with ``mount_loader``.
    ``where`` names the source in messages. Raises ReferenceError (naming the key, gen item, field
    or template) for an unsupported version, a malformed value, a template that cannot be
    rendered, or mounts without a ``mount_loader``.
    """
    if not isinstance(spec, Mapping):
        raise ReferenceError(f"a reference set is a JSON object, got {type(spec).__name__} in {where}")
    refs = spec.get("refs")
    refs_is_object = isinstance(refs, Mapping)
    header = {name: value for name, value in spec.items() if name in VERSION_1_FIELDS}
    other_keys = [key for key in spec if key not in VERSION_1_FIELDS]
    if spec_version(header, refs_is_object=refs_is_object, other_keys=other_keys, where=where) == 0:
        return ReferenceSet((key, parse_value(key, value, where)) for key, value in spec.items())
    references = ReferenceSet()
    if refs_is_object:
        del header["refs"]
        for key, value in refs.items():  # type: ignore[union-attr]
            references[key] = parse_value(key, value, where)
    complete_version_1(references, header, mount_loader=mount_loader, where=where)
    return references


def spec_version(header: Mapping[str, object], *, refs_is_object: bool, other_keys: Collection[str], where: str) -> int:
    """The spec version (0 or 1) of a top-level object.

    ``header`` maps the version 1 field names present to their values, ``refs_is_object`` tells
    whether ``refs`` holds an object, and ``other_keys`` are the remaining top-level keys. Raises
    ReferenceError for a version other than 1, or unknown top-level fields in a version 1 set.
    """
    if "version" in header:
        version = header["version"]
        if type(version) is not int or version != 1:
            raise ReferenceError(f"unsupported reference spec version {version!r} in {where}: zarrkit reads 0 and 1")
        if other_keys:
            raise ReferenceError(
                f"unknown top-level field {next(iter(other_keys))!r} in the version 1 reference set {where}; "
                f"the fields are {sorted(VERSION_1_FIELDS)}"
            )
        return 1
    return 1 if refs_is_object and not other_keys else 0


def complete_version_1(
    references: ReferenceSet,
    header: Mapping[str, object],
    *,
    mount_loader: MountLoader | None,
    where: str,
) -> None:
    """Finish a version 1 set whose ``refs`` were read into ``references`` as they are written.

    Renders the templates in their URLs, adds the references that ``gen`` generates, and mounts
    the ``mounts``. ``header`` holds the other version 1 fields (``refs`` only when it is not an
    object, which is an error). Raises ReferenceError naming the field, key, gen item or template.
    """
    if "refs" in header:
        raise ReferenceError(f"'refs' in {where} must be a JSON object, got {type(header['refs']).__name__}")
    templates = parse_templates(header.get("templates", {}), where)
    _render_urls(references, templates, where)
    gen = header.get("gen", [])
    if not isinstance(gen, list):
        raise ReferenceError(f"'gen' in {where} must be a list, got {type(gen).__name__}")
    for index, item in enumerate(gen):
        _expand_gen(references, item, index, templates, where)
    _mount(references, header.get("mounts"), mount_loader, where)


def parse_templates(templates: object, where: str) -> dict[str, _Template]:
    """The ``templates`` field of a version 1 set, compiled. Raises ReferenceError naming a bad template."""
    if not isinstance(templates, Mapping):
        raise ReferenceError(f"'templates' in {where} must be an object, got {type(templates).__name__}")
    compiled = {}
    for name, text in templates.items():
        if not isinstance(text, str):
            raise ReferenceError(f"template {name!r} in {where} must be a string, got {text!r}")
        try:
            compiled[name] = _Template.compile(text)
        except _TemplateError as error:
            raise ReferenceError(f"template {name!r} in {where}: {error}") from None
    return compiled


def render_url(url: str, templates: Mapping[str, _Template]) -> str:
    """``url`` with the templates it uses rendered (unchanged when it uses none).

    Raises ReferenceError when it cannot be rendered (an unknown template, a bad expression).
    """
    if not _has_template_syntax(url):
        return url
    try:
        return _Template.compile(url).render(templates)
    except _TemplateError as error:
        raise ReferenceError(str(error)) from None


def _render_urls(references: ReferenceSet, templates: Mapping[str, _Template], where: str) -> None:
    rendered: dict[str, str] = {}
    for url in references.target_urls():
        if url is not None and _has_template_syntax(url):
            try:
                rendered[url] = _Template.compile(url).render(templates)
            except _TemplateError as error:
                key = next(
                    key for key, entry in references.items() if isinstance(entry, Reference) and entry.url == url
                )
                raise ReferenceError(f"the url of key {key!r} in {where}: {error}") from None
    if not rendered:
        return
    # Replacing the value of an existing key does not resize the dict, so iterating keys is safe.
    for key in references:
        entry = references[key]
        if isinstance(entry, Reference) and entry.url in rendered:
            references[key] = Reference(rendered[entry.url], entry.offset, entry.length)


def _expand_gen(
    references: ReferenceSet, item: object, index: int, templates: Mapping[str, _Template], where: str
) -> None:
    if not isinstance(item, Mapping):
        raise ReferenceError(f"gen item {index} in {where} must be an object, got {type(item).__name__}")
    label = f"gen item {index} ({item.get('key')!r}) in {where}"
    for field in ("key", "url", "dimensions"):
        if field not in item:
            raise ReferenceError(f"{label} has no {field!r} field")
    if ("offset" in item) != ("length" in item):
        missing = "length" if "offset" in item else "offset"
        raise ReferenceError(f"{label} has no {missing!r} field: give both offset and length, or neither")
    dimensions = _gen_dimensions(item["dimensions"], label)
    clashes = sorted(set(dimensions) & set(templates))
    if clashes:
        raise ReferenceError(f"{label}: the dimensions {clashes} have the names of templates")
    fields = {
        field: _gen_template(item[field], label, field) for field in ("key", "url", "offset", "length") if field in item
    }
    variables: dict[str, object] = dict(templates)
    for values in itertools.product(*dimensions.values()):
        variables.update(zip(dimensions, values))
        try:
            rendered = {field: template.render(variables) for field, template in fields.items()}
        except _TemplateError as error:
            raise ReferenceError(f"{label} at {dict(zip(dimensions, values))}: {error}") from None
        if "offset" in rendered:
            offset = _count(rendered["offset"], f"the offset of {label}")
            length = _count(rendered["length"], f"the length of {label}")
            references[rendered["key"]] = Reference(rendered["url"], offset, length)
        else:
            references[rendered["key"]] = Reference(rendered["url"])


def _gen_dimensions(dimensions: object, label: str) -> dict[str, Sequence[int | str]]:
    if not isinstance(dimensions, Mapping) or not dimensions:
        raise ReferenceError(f"{label}: 'dimensions' must be an object naming at least one variable")
    ranges: dict[str, Sequence[int | str]] = {}
    for name, spec in dimensions.items():
        if isinstance(spec, list):
            if not all(type(value) in (int, str) for value in spec):
                raise ReferenceError(f"{label}: dimension {name!r} lists values that are not integers or strings")
            ranges[name] = spec
        elif isinstance(spec, Mapping):
            unknown = sorted(set(spec) - {"start", "stop", "step"})
            if unknown:
                raise ReferenceError(f"{label}: dimension {name!r} has unknown fields {unknown}")
            if "stop" not in spec:
                raise ReferenceError(f"{label}: dimension {name!r} has no 'stop' field")
            bounds = {"start": spec.get("start", 0), "stop": spec["stop"], "step": spec.get("step", 1)}
            for field, value in bounds.items():
                if type(value) is not int:
                    raise ReferenceError(f"{label}: {field!r} of dimension {name!r} must be an integer, got {value!r}")
            if bounds["step"] == 0:
                raise ReferenceError(f"{label}: 'step' of dimension {name!r} must not be 0")
            ranges[name] = range(bounds["start"], bounds["stop"], bounds["step"])
        else:
            raise ReferenceError(f"{label}: dimension {name!r} must be a list or a {{start, stop, step}} object")
    return ranges


def _gen_template(value: object, label: str, field: str) -> _Template:
    if field in ("offset", "length") and type(value) is int:
        return _Template(str(value), (str(value),))
    if not isinstance(value, str):
        raise ReferenceError(f"{label}: {field!r} must be a string, got {value!r}")
    try:
        return _Template.compile(value)
    except _TemplateError as error:
        raise ReferenceError(f"{label}: {field!r}: {error}") from None


def _mount(references: ReferenceSet, mounts: object, mount_loader: MountLoader | None, where: str) -> None:
    if mounts is None:
        return
    if not isinstance(mounts, Mapping) or not all(isinstance(url, str) for url in mounts.values()):
        raise ReferenceError(f"'mounts' in {where} must map prefixes to reference file URLs, got {mounts!r}")
    if mounts and mount_loader is None:
        raise ReferenceError(f"{where} mounts {sorted(mounts)}, but no mount loader was given to load them")
    for prefix, url in mounts.items():
        references.mount(prefix, mount_loader(url))  # type: ignore[misc]


# -- templates ------------------------------------------------------------------------------------


class _TemplateError(Exception):
    """A template cannot be parsed or rendered; callers add where it was met."""


def _has_template_syntax(text: str) -> bool:
    return any(marker in text for marker in _TEMPLATE_SYNTAX)


@dataclass(frozen=True)
class _Template:
    """A jinja string split into literal text and parsed ``{{ expression }}`` parts."""

    text: str
    parts: tuple[str | ast.expr, ...]

    @classmethod
    def compile(cls, text: str) -> _Template:
        if "{%" in text or "{#" in text:
            raise _TemplateError(f"jinja statements and comments are not supported: {text!r}")
        parts: list[str | ast.expr] = []
        position = 0
        while (start := text.find("{{", position)) >= 0:
            end = text.find("}}", start + 2)
            if end < 0:
                raise _TemplateError(f"'{{{{' without '}}}}' in {text!r}")
            if start > position:
                parts.append(text[position:start])
            source = text[start + 2 : end].strip()
            try:
                parts.append(ast.parse(source, mode="eval").body)
            except (SyntaxError, ValueError, RecursionError):
                raise _TemplateError(f"cannot parse the expression {{{{{source}}}}} in {text!r}") from None
            position = end + 2
        if position < len(text):
            parts.append(text[position:])
        return cls(text, tuple(parts))

    def render(self, variables: Mapping[str, object]) -> str:
        """The text with each expression replaced by its value; ``variables`` maps names to integers,
        strings and templates."""
        try:
            return "".join(part if isinstance(part, str) else str(_evaluate(part, variables)) for part in self.parts)
        except _TemplateError as error:
            raise _TemplateError(f"cannot render {self.text!r}: {error}") from None


_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.Div)


def _evaluate(node: ast.expr, variables: Mapping[str, object]) -> int | str:
    match node:
        case ast.Constant(value=value) if type(value) in (int, str):
            return value
        case ast.Name(id=name):
            if name not in variables:
                raise _TemplateError(f"unknown name {name!r}")
            value = variables[name]
            return value.render({}) if isinstance(value, _Template) else value  # type: ignore[return-value]
        case ast.UnaryOp(op=ast.USub(), operand=operand):
            return -_integer(_evaluate(operand, variables), node)
        case ast.BinOp(left=left, op=operator, right=right) if isinstance(operator, _OPERATORS):
            return _arithmetic(operator, _evaluate(left, variables), _evaluate(right, variables), node)
        case ast.Call(func=ast.Name(id=name), args=[], keywords=keywords) if all(k.arg for k in keywords):
            template = variables.get(name)
            if not isinstance(template, _Template):
                raise _TemplateError(f"{name!r} in {ast.unparse(node)!r} is not a template")
            return template.render({keyword.arg: _evaluate(keyword.value, variables) for keyword in keywords})
    raise _TemplateError(
        f"unsupported expression {ast.unparse(node)!r}: use integers, strings, names, + - * / // %, "
        "parentheses and template calls with keyword arguments"
    )


def _integer(value: int | str, node: ast.expr) -> int:
    if not isinstance(value, int):
        raise _TemplateError(f"{ast.unparse(node)!r} needs integers, got {value!r}")
    return value


def _arithmetic(operator: ast.operator, left: int | str, right: int | str, node: ast.expr) -> int:
    if isinstance(operator, ast.Add) and isinstance(left, str) and isinstance(right, str):
        return left + right  # type: ignore[return-value]
    left, right = _integer(left, node), _integer(right, node)
    if isinstance(operator, ast.Add):
        return left + right
    if isinstance(operator, ast.Sub):
        return left - right
    if isinstance(operator, ast.Mult):
        return left * right
    if right == 0:
        raise _TemplateError(f"division by zero in {ast.unparse(node)!r}")
    if isinstance(operator, ast.Mod):
        return left % right
    if isinstance(operator, ast.Div) and left % right:
        # jinja would give a float; a key, URL or offset has no use for one.
        raise _TemplateError(f"{ast.unparse(node)!r} is not an exact division; use //")
    return left // right


# -- writing a spec -------------------------------------------------------------------------------


def to_spec(references: ReferenceSet) -> dict[str, object]:
    """``references`` as a version 1 reference dict, ready for ``json.dumps``.

    Inline bytes that are UTF-8 text (and do not start with ``base64:``) are written as text, other
    bytes as ``"base64:..."``; references as ``[url]`` or ``[url, offset, length]`` (a None url as
    null). A URL used by more than one reference is written once, as a template (``{{u0}}``), the
    way kerchunk shrinks its files. Mounts whose References have a ``url`` attribute (the file they
    load) are written to ``mounts``.

    Raises ReferenceError for a URL that contains template syntax (``{{``, ``{%``, ``{#``), which
    version 1 readers would try to render, or a mount that is not backed by a file (flatten the
    set first).
    """
    spec, placeholders = _spec_of_single_entries(references)
    refs: dict[str, object] = spec["refs"]  # type: ignore[assignment]
    for table in references.chunk_tables.values():
        url = placeholders.get(table.url, table.url)  # type: ignore[arg-type]
        for key, offset, length in zip(table.keys(), table.offsets.tolist(), table.lengths.tolist()):
            refs[key] = [url, offset, length]
    return spec


def to_spec_json(references: ReferenceSet) -> bytes:
    """``compact_json(to_spec(references))``, written without building a list per chunk of the
    chunk tables (their rows go straight to text). Raises as :func:`to_spec` does, and
    UnicodeEncodeError for a key or value that is not valid unicode."""
    spec, placeholders = _spec_of_single_entries(references)
    single_rows = compact_json(spec.pop("refs"))[1:-1]
    mounts = spec.pop("mounts", None)
    rows = [single_rows] if single_rows else []
    for table in references.chunk_tables.values():
        if len(table) == 0:
            continue
        url = placeholders.get(table.url, table.url)  # type: ignore[arg-type]
        # Chunk names are digits and separators, so only the array's directory needs escaping.
        opening = compact_json(table.grid.directory)[:-1].decode("utf-8")
        target = compact_json(url).decode("utf-8")
        table_rows = ",".join(
            f'{opening}{name}":[{target},{offset},{length}]'
            for name, offset, length in zip(table.grid.chunk_names(), table.offsets.tolist(), table.lengths.tolist())
        )
        rows.append(table_rows.encode("utf-8"))
    document = compact_json(spec)[:-1] + b',"refs":{' + b",".join(rows) + b"}"
    if mounts is not None:
        document += b',"mounts":' + compact_json(mounts)
    return document + b"}"


def _spec_of_single_entries(references: ReferenceSet) -> tuple[dict[str, object], dict[str, str]]:
    """The spec of ``references`` without the rows of its chunk tables (their URLs are counted for
    the templates), and the template placeholder of each URL that has one."""
    entries = references.single_entries
    tables = references.chunk_tables.values()
    uses = Counter(entry.url for entry in entries.values() if isinstance(entry, Reference) and entry.url is not None)
    for table in tables:
        if table.url is not None:
            uses[table.url] += len(table)
    templates: dict[str, str] = {}
    placeholders: dict[str, str] = {}
    for url, count in uses.items():
        if _has_template_syntax(url):
            raise ReferenceError(f"cannot write the target URL {url!r}: version 1 readers would read it as a template")
        name = f"u{len(templates)}"
        placeholder = "{{" + name + "}}"
        if count > 1 and len(url) > len(placeholder):
            templates[name] = url
            placeholders[url] = placeholder
    refs: dict[str, object] = {}
    for key, entry in entries.items():
        if isinstance(entry, Reference):
            url = placeholders.get(entry.url, entry.url)  # type: ignore[arg-type]
            refs[key] = [url] if entry.length is None else [url, entry.offset, entry.length]
        else:
            refs[key] = _inline_value(entry)
    spec: dict[str, object] = {"version": 1}
    if templates:
        spec["templates"] = templates
    spec["refs"] = refs
    mounts = {prefix: _mount_url(prefix, mounted) for prefix, mounted in references.mounts.items()}
    if mounts:
        spec["mounts"] = mounts
    return spec, placeholders


def _inline_value(data: bytes) -> str:
    if not data.startswith(_BASE64_PREFIX.encode()):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return _BASE64_PREFIX + base64.b64encode(data).decode("ascii")


def _mount_url(prefix: str, mounted: References) -> str:
    url = getattr(mounted, "url", None)
    if not isinstance(url, str):
        raise ReferenceError(
            f"cannot write the mount at {prefix!r}: {type(mounted).__name__} is not loaded from a file; "
            "flatten the reference set first"
        )
    return url
