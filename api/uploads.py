"""Restaurants uploaded as CSV or JSON lines, the way operators export them from spreadsheets.

CSV: a header row (which column each title names, and the titles refused, are in `csv_header`),
then one restaurant per row. `name` and `external_id` are the restaurant; `execution_config` may
hold the whole config as JSON; a dotted column is a path into the config that adds to the JSON
column's sections, and a field given both ways in one row is refused naming the column. Other
columns are kept on the restaurant as titled. Every row has as many cells as the header (a short
row is refused, not read with its last fields missing). Empty cells are left out; a cell that
starts with `[` or `{` is read as JSON (`skip` = `["menuImport"]`); a switch's cell is read by
the config's model (`TRUE`, `yes`, `1`...). Comma, semicolon and tab separators and a UTF-8
byte-order mark (as Excel writes them) are accepted; the text is read as UTF-8. An empty CSV is
refused as such.
JSON lines: one restaurant object per line, blank lines ignored.
Rows are named as a spreadsheet numbers them (the header is row 1; a JSON line by its line).
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

from api.csv_header import CONFIG, config_path, read_header
from api.csv_header import KNOWN_COLUMNS as KNOWN_COLUMNS  # re-exported: tests name it from here
from api.errors import BadRequest
from api.parsing import NumberTooLong, decoded_body, loads, unfaithful
from api.schemas import MAX_ITEMS, CreateBatch
from api.schemas.requests import refuse_restaurants, restaurant_errors
from domain.exceptions import InvalidInput
from domain.limits import unstorable_message, unstorable_text

CSV_TYPES = frozenset({"text/csv", "application/csv"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/json-lines"})
UPLOAD_TYPES = CSV_TYPES | NDJSON_TYPES
SEPARATORS = ",;\t"
MAX_ERRORS = 100
BATCH_SETTING = "REGFLOW_MAX_BATCH_BYTES"

Rows = tuple[list[dict[str, Any]], list[str]]


def _decoded(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "The upload is not UTF-8 text: uploads are read as UTF-8",
            [f"byte {exc.start}: not UTF-8 (save the sheet as CSV UTF-8)"],
        ) from None


def _cell(text: str) -> Any:
    """A cell's value: JSON when it reads as a JSON list or object, else its text."""
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return loads(stripped)
        except (ValueError, RecursionError):
            return stripped
    return stripped


def _place(config: dict[str, Any], path: list[str], value: Any) -> str | None:
    """Put `value` at `path` inside `config`; a message when the path runs into a value."""
    node = config
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return f"{'.'.join(path)}: {part} is not a section"
    node[path[-1]] = value
    return None


def _given_in(config: dict[str, Any], path: list[str]) -> bool:
    """Whether `config` already gives a value at `path`, or a value where a section of it is."""
    node: Any = config
    for part in path:
        if not isinstance(node, dict):
            return True
        if part not in node:
            return False
        node = node[part]
    return True


def _json_config(text: str | None, errors: list[str]) -> dict[str, Any]:
    """The config a row's `execution_config` cell holds (empty when none), its problems added
    to `errors`."""
    if text is None:
        return {}
    value = _cell(text)
    if not isinstance(value, dict):
        errors.append(f"{CONFIG}: not a JSON object")
        return {}
    if problems := unfaithful(value, CONFIG):
        errors += problems
        return {}
    return value


def _restaurant(header: list[str], cells: list[str]) -> tuple[dict[str, Any], list[str]]:
    given = {c: t for c, t in zip(header, cells, strict=False) if t.strip()}
    errors: list[str] = []
    config = _json_config(given.pop(CONFIG, None), errors)
    dotted = {c: t for c, t in given.items() if "." in c}
    restaurant = {c: t.strip() for c, t in given.items() if c not in dotted}
    clashes = [c for c in dotted if _given_in(config, config_path(c))]
    errors += [f"{c}: also given in the {CONFIG} column; give it in one of them" for c in clashes]
    for column, text in dotted.items():
        path, value = config_path(column), _cell(text)
        if problems := unfaithful(value, ".".join([CONFIG, *path])):
            errors += problems
        elif not clashes and (problem := _place(config, path, value)):
            errors.append(problem)
    return restaurant | ({CONFIG: config} if config else {}), errors


def from_csv(raw: bytes) -> Rows:
    """The restaurants of a CSV upload, each with its row label; InvalidInput lists bad rows."""
    text = _decoded(raw)
    if not text.strip():
        raise BadRequest(
            "The CSV is empty: it needs a header row with a `name` column, then a row per "
            "restaurant",
            ["row 1: empty"],
        )
    first = text.split("\n", 1)[0]
    delimiter = max(SEPARATORS, key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    restaurants: list[dict[str, Any]] = []
    labels: list[str] = []
    errors: list[str] = []
    try:
        header = read_header(reader)
        for row, cells in enumerate(reader, start=2):
            label = f"row {row}: "
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                errors.append(f"{label}{len(cells)} cells but {len(header)} columns")
                continue
            restaurant, problems = _restaurant(header, cells)
            errors.extend(label + p for p in problems)
            restaurants.append(restaurant)
            labels.append(label)
    except csv.Error as exc:
        errors.append(f"row {reader.line_num}: {exc}")
    _refuse(errors)
    return restaurants, labels


def from_ndjson(raw: bytes) -> Rows:
    """The restaurants of a JSON-lines upload, each labelled by its line."""
    restaurants: list[dict[str, Any]] = []
    labels: list[str] = []
    errors: list[str] = []
    # Lines end at a line feed (a CR before it is dropped), as JSON lines do: a string may hold
    # U+2028, U+0085 and the other characters str.splitlines() would also break at.
    for number, line in enumerate(_decoded(raw).split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            item = loads(line)
        except NumberTooLong as exc:
            errors.append(f"line {number}: {exc}")
            continue
        except (ValueError, RecursionError):
            errors.append(f"line {number}: not valid JSON")
            continue
        if not isinstance(item, dict):
            errors.append(f"line {number}: not a JSON object")
            continue
        if problems := unfaithful(item):
            errors += [f"line {number}: {p}" for p in problems]
            continue
        restaurants.append(item)
        labels.append(f"line {number}: ")
    _refuse(errors)
    return restaurants, labels


def _refuse(errors: list[str]) -> None:
    if errors:
        more = len(errors) - MAX_ERRORS
        shown = errors[:MAX_ERRORS] + ([f"... and {more} more"] if more > 0 else [])
        raise InvalidInput("The upload has rows that cannot be read: nothing was created", shown)


def restaurants_of(content_type: str, raw: bytes) -> Rows:
    """The restaurants of an upload of `content_type` (one of UPLOAD_TYPES)."""
    return from_csv(raw) if content_type in CSV_TYPES else from_ndjson(raw)


def batch_input(
    content_type: str, raw: bytes, name: str | None
) -> tuple[str, list[dict[str, Any]], list[str] | None]:
    """The name, restaurants and row labels of a batch to create: a JSON body, or an upload
    (CSV or JSON lines, named by `?name=`), as `content_type` (from `parsing.body_type`) says.
    Either way, no two restaurants share an external_id, and a JSON line's config switches are
    booleans (a CSV's are text, read by the config's model). Blocking work: run it off the
    event loop."""
    if not raw.removeprefix(codecs.BOM_UTF8).strip():
        raise BadRequest(
            "The body is empty: a new batch is a JSON object, or a CSV (a header row with a "
            "`name` column, then a row per restaurant) or JSON-lines upload",
            ["body: empty"],
        )
    if content_type not in UPLOAD_TYPES:
        data = decoded_body(raw, CreateBatch)
        return data.name, data.restaurant_records(), None
    if not (name or "").strip():
        raise InvalidInput("An uploaded batch needs a name", ["name: pass ?name=<batch name>"])
    restaurants, labels = restaurants_of(content_type, raw)
    if not restaurants:
        raise InvalidInput("A batch needs at least one restaurant", ["the upload has no rows"])
    if len(restaurants) > MAX_ITEMS:
        raise InvalidInput(
            "Too many restaurants", [f"{len(restaurants)} rows; a batch takes at most {MAX_ITEMS}"]
        )
    if unstorable := unstorable_text(restaurants, "rows"):
        raise InvalidInput(unstorable_message(unstorable), unstorable[:10])
    names = [label.removesuffix(": ") for label in labels]
    typed = content_type in NDJSON_TYPES
    refuse_restaurants(restaurant_errors(restaurants, names, ": ", typed))
    return str(name).strip(), restaurants, labels
