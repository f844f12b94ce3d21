"""Each view's declared fold version is pinned here beside a digest of the code its rows are
computed by. A change to that code fails this test until whoever made it decides whether the
view's rows change: if they can, they bump the view's `fold_version` (every process then rebuilds
the view from the log when it starts); either way they pin the new digest, in the same diff.

What a view's rows are computed by: the module of its class, and every module of `domain` and
`projections` that it imports, directly or not (and the packages holding them), except the
modules in STOPS, which cannot change what a row holds. The digest is of their code: comments,
docstrings and layout do not count.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
from pathlib import Path

import pytest

from domain.job_state import JobQueries
from projections.catalogue import VIEWS

PINS = {
    "job_progress": (9, "939552765a32e09c"),
    "batch_summaries": (8, "9f3e633ca9cb3eac"),
    "job_timeline": (11, "9f3e633ca9cb3eac"),
}
FIRST_PARTY = ("domain", "projections")
COMMANDS = "commands decide which events are recorded, never how a recorded event folds"
STOPS = {
    "projections.database": "connections: where rows are written, not what they hold",
    "projections.schema": "table names and DDL (a table missing a column is made again)",
    "domain.job_commands": COMMANDS,
    "domain.job_engine_commands": COMMANDS,
    "domain.job_operator_commands": COMMANDS,
    "domain.job_checks": COMMANDS,
}


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # `package.module.Name`: a name, not a module
        return False


def imported(module: str) -> set[str]:
    """The first-party modules `module` imports, anywhere in it."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    package = module if spec.submodule_search_locations is not None else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {n for n in names if n.split(".")[0] in FIRST_PARTY and _is_module(n)}
    return found


def rows_computed_by(root: str) -> list[str]:
    """`root` and the modules it imports, directly or not, short of STOPS."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        module = todo.pop()
        if module in seen or module in STOPS:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # its packages run too
        todo += sorted(imported(module))
    return sorted(seen)


def code_of(source: str) -> str:
    """The code of `source` without its comments, docstrings or layout."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                kept = [s for s in body if not _is_text(s)]
                setattr(node, field, kept or [ast.Pass()])
    return ast.unparse(tree)


def _is_text(statement: ast.stmt) -> bool:
    """A string standing alone: a docstring, or the note under a constant."""
    value = getattr(statement, "value", None)
    return (
        isinstance(statement, ast.Expr)
        and isinstance(value, ast.Constant)
        and (isinstance(value.value, str))
    )


def digest(modules: list[str]) -> str:
    """One digest of the code of these modules (and of their names)."""
    sha = hashlib.sha256()
    for module in modules:
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None
        sha.update(f"{module}\n{code_of(Path(spec.origin).read_text())}\n".encode())
    return sha.hexdigest()[:16]


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.name)
def test_a_change_to_the_code_of_a_views_rows_is_decided_and_pinned(view: type) -> None:
    name, declared = view.name, view.fold_version  # type: ignore[attr-defined]
    pinned_version, pinned_digest = PINS[name]
    modules = rows_computed_by(view.__module__)
    now = digest(modules)
    where = f"{view.__name__}.fold_version ({inspect.getfile(view)})"
    pin = f'in PINS ({__file__}):\n    "{name}": ({{}}, "{now}"),'
    assert declared >= pinned_version, f"{where} went down: fold versions only go up"
    if now == pinned_digest:
        assert declared == pinned_version, f"{where} is {declared}: pin it " + pin.format(declared)
    elif declared == pinned_version:
        pytest.fail(
            f"The code that computes the rows of view {name} changed (the modules {modules}).\n"
            f"If a row it writes can change, bump {where} to {declared + 1}: every process then"
            f" rebuilds the view from the log when it starts. Then pin it "
            + pin.format(declared + 1)
            + "\nIf no row can change (a rename, a refactor), keep the version and pin it "
            + pin.format(declared)
            + "\nsaying why in the commit."
        )
    else:
        pytest.fail(f"{where} was bumped to {declared}: pin it " + pin.format(declared))


def test_every_view_is_pinned() -> None:
    assert sorted(PINS) == sorted(view.name for view in VIEWS)


def test_the_code_of_a_view_reaches_its_folds_and_the_events_they_fold() -> None:
    modules = rows_computed_by("projections.job_view")
    for module in ("projections.folds.jobs", "domain.job", "domain.job_events.attempts"):
        assert module in modules
    assert not set(STOPS) & set(modules)


def test_the_digest_sees_code_and_not_comments_docstrings_or_layout() -> None:
    plain = "def f(x):\n    return x + 1\n"
    noted = (
        '"""A module."""\n\n\ndef f( x ):  # one more\n    """One more."""\n    return (x + 1)\n'
    )
    assert code_of(noted) == code_of(plain)
    assert code_of("def f(x):\n    return x + 2\n") != code_of(plain)
    assert code_of('X = 1\n"""The note under X."""\n') == code_of("X = 1\n")
    assert code_of('X = "text"\n') != code_of('X = "other text"\n')


def test_the_commands_left_out_redefine_nothing_a_fold_asks_of_a_job() -> None:
    """The command modules are left out because they only record events: a class of theirs
    that redefined a query of the job's state would change what the folds read, unseen."""
    asked = {name for name in vars(JobQueries) if not name.startswith("__")}
    for module in (m for m, why in STOPS.items() if why == COMMANDS):
        loaded = importlib.import_module(module)
        for cls in vars(loaded).values():
            if inspect.isclass(cls) and cls.__module__ == module:
                assert not asked & set(vars(cls)), f"{module}.{cls.__name__} redefines a query"
