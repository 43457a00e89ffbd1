"""Hot reads compiled once per process, run with new values (issue 9: the CPU of a write).

Django builds and compiles a queryset's SQL every time it is evaluated. For the reads every write
starts with (the API token, the case with its owner and customer, the case locked) that is most of
their cost: 0.8-2.8 ms of CPU for one `Case` read with its related rows, where the statement itself
takes 0.03 ms to send and read back. `compiled(key, build)` builds the queryset once, with stand-in
values where the real ones go (`standin(n)`: ids no table reaches, or a string), keeps its SQL, and
afterwards runs that SQL with the real values, building the model instances (and their
`select_related` objects and annotations) the way Django's own ModelIterable does. The queryset stays
the definition: the same SQL, the same objects (test_compiled.py checks them against the ORM).

Only model querysets whose varying values are the stand-ins: whatever else they compare with is
fixed when they are built (a status, a kind), and `key` must name everything that changes their shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db import DatabaseError, connections
from django.db.models import (
    AutoField,
    BigAutoField,
    BooleanField,
    CharField,
    EmailField,
    Field,
    ForeignKey,
    Model,
    QuerySet,
    SlugField,
    TextField,
    URLField,
)
from django.db.models.query import get_related_populators

from .prepared import bound_cursor

# Integers above every id (2**53 - 10,000 and up, exact in JavaScript too); see `standin`.
_STANDIN_BASE = 9_007_199_254_730_991
R = TypeVar("R")  # what a Compiled read yields: model instances, or values_list rows


def standin(n: int) -> int:
    """The n-th stand-in id: build a compiled queryset with it where a real id goes."""
    return _STANDIN_BASE + n


def text_standin(n: int) -> str:
    """The n-th stand-in string (for a lookup by key or name)."""
    return f"\x00steward-standin-{n}\x00"


def time_standin(n: int) -> datetime:
    """The n-th stand-in moment (for a comparison with a time): microseconds into the year 2999."""
    return datetime(2999, 1, 1, tzinfo=UTC) + timedelta(microseconds=n)


class CompiledQuery:
    """A model queryset's SQL and what is needed to turn its rows into instances, built once."""

    def __init__(self, qs: QuerySet[Any]) -> None:
        assert not qs._known_related_objects  # type: ignore[attr-defined]
        self.db = qs.db
        self.empty = qs.query.is_empty()  # .none(): no statement, no rows
        if self.empty:
            return
        compiler = qs.query.get_compiler(using=self.db)
        sql, params = compiler.as_sql()
        self.sql = sql
        self.params = tuple(params)
        self.converters = compiler.get_converters([s[0] for s in compiler.select[0 : compiler.col_count]])
        self.compiler = compiler
        iterable = qs._iterable_class.__name__  # type: ignore[attr-defined]
        self.flat = iterable == "FlatValuesListIterable"
        self.instances = iterable == "ModelIterable"
        query = qs.query
        # values(): the names ValuesIterable gives the row's columns (dicts()).
        self.names = (
            list(query.selected or [*query.extra_select, *query.values_select, *query.annotation_select])
            if iterable == "ValuesIterable"
            else None
        )
        if not self.instances:
            return  # values_list(): rows() only
        select, klass_info = compiler.select, compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, select, self.db)  # type: ignore[call-arg]
        self.annotations = tuple(compiler.annotation_col_map.items())

    def all(self, values: Mapping[Any, Any]) -> list[Any]:
        """The instances, with each stand-in in the parameters replaced by its value in `values`."""
        out = []
        for row in self.rows(values):
            obj = self.model.from_db(self.db, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, pos in self.annotations:
                setattr(obj, name, row[pos])
            out.append(obj)
        return out

    def rows(self, values: Mapping[Any, Any]) -> list[Any]:
        """The rows as the database gives them (with Django's converters), for a values_list or an
        exists-like read."""
        if self.empty:
            return []
        ops = connections[self.db].ops
        subst = {
            (ops.adapt_datetimefield_value(k) if isinstance(k, datetime) else k): (
                ops.adapt_datetimefield_value(v) if isinstance(k, datetime) else v
            )
            for k, v in values.items()
        }
        params = [subst[p] if type(p) in _SUBSTITUTED and p in subst else p for p in self.params]
        with bound_cursor(connections[self.db]) as cursor:
            cursor.execute(self.sql, params)
            rows: Any = cursor.fetchall()
        if self.converters:
            rows = list(self.compiler.apply_converters(rows, self.converters))
        return list(rows)

    def dicts(self, values: Mapping[Any, Any]) -> list[dict[str, Any]]:
        """The rows of a values() queryset as the dicts it yields."""
        names = self.names
        assert names is not None, "dicts() is for a values() queryset"
        return [dict(zip(names, row, strict=True)) for row in self.rows(values)]

    def takes(self, standins: list[Any]) -> bool:
        """Whether each stand-in went into the parameters and none into the SQL text (a LIMIT n is
        written into the text: such a queryset cannot be run with other values)."""
        if self.empty:
            return True
        return all(s in self.params and str(s) not in self.sql for s in standins)

    def first(self, values: Mapping[Any, Any]) -> Any:
        found = self.all(values)
        return found[0] if found else None


# The parameter types a stand-in can have once Django has prepared it (an aware datetime on
# PostgreSQL, its text on SQLite).
_SUBSTITUTED = (int, str, datetime)
_COMPILED: dict[tuple[Any, ...], CompiledQuery] = {}


def compiled(key: tuple[Any, ...], build: Callable[[], QuerySet[Any]]) -> CompiledQuery:
    """The compiled form of the queryset `build()` returns, built on first use for this `key` and
    database vendor (a `select_for_update` queryset must be first used inside a transaction)."""
    full = (*key, connections["default"].vendor)
    found = _COMPILED.get(full)
    if found is None:
        found = _COMPILED[full] = CompiledQuery(build())
    return found


class Compiled(Generic[R]):
    """A read by ids, compiled once: `Compiled(Model, build)(*ids)` gives what `list(build(*ids))` gives
    (model instances, or a values_list's rows), through `compiled` with `standin(n)` for the n-th id.

    For the case page's reads (its timeline, messages, tasks, ...), which differ only by the case's id:
    compiling them was 0.3-1.5 ms of CPU each per page. A queryset that writes an id into its SQL text
    (a slice by an id: LIMIT n) is checked once and then built as usual on every call."""

    def __init__(self, model: type[Model], build: Callable[..., QuerySet[Any, R]]) -> None:
        self.model = model
        self.build = build
        self._takes: dict[tuple[Any, ...], bool] = {}
        # Kept on the instance, not in compiled()'s process-wide table under id(self): an id is reused
        # once its object is gone (a Compiled made in a test), and the table then gave another read.
        self._queries: dict[tuple[Any, ...], CompiledQuery] = {}

    def __call__(self, *ids: int) -> list[R]:
        stand = [standin(n) for n in range(len(ids))]
        key = ("Compiled", id(self), len(ids))
        full = (*key, connections["default"].vendor)
        query = self._queries.get(full)
        if query is None:
            query = self._queries[full] = CompiledQuery(self.build(*stand))
        takes = self._takes.get(key)
        if takes is None:
            takes = self._takes[key] = query.takes(stand)
        if not takes:
            return list(self.build(*ids))
        values = {s: int(i) for s, i in zip(stand, ids, strict=True)}
        if query.empty or query.instances:
            return query.all(values)
        rows = query.rows(values)
        return [row[0] for row in rows] if query.flat else rows


# ------------------------------------------------------------------ writes

_INSERTS: dict[tuple[Any, ...], tuple[str, list[Any]]] = {}


def insert(*objs: Any) -> None:
    """INSERT these new instances of one model in one statement, compiled once per model and row count:
    the columns and values `Model.save()` / `bulk_create()` write (each field's `pre_save`, then its
    database preparation), the ids read back with RETURNING. About 0.2 ms of CPU fewer per row than
    the ORM's save. No pre_save/post_save signal is sent: use it only for models no receiver listens to
    (cases, messages, case events, outbox mails, portal keys; test_compiled checks none does)."""
    model = type(objs[0])
    connection = connections["default"]
    key = (model, len(objs), connection.vendor)
    found = _INSERTS.get(key)
    if found is None:
        sql, plan = _insert_rows(model, len(objs), connection)
        found = _INSERTS[key] = (f"{sql} RETURNING {connection.ops.quote_name(model._meta.pk.column)}", plan)
    sql, plan = found
    params = [value for obj in objs for value in save_values(plan, obj, connection, add=True)]
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, params)
        ids = cursor.fetchall()
    saved(objs, [pk_value for (pk_value,) in ids])


_UPSERTS: dict[tuple[Any, ...], tuple[str, list[Any]]] = {}


def upsert(objs: list[Any], *, unique: list[str], update: list[str]) -> None:
    """INSERT these instances of one model, or UPDATE the `update` fields of the row already holding
    their `unique` fields: what `bulk_create(update_conflicts=True, ...)` writes (PostgreSQL and
    SQLite: ON CONFLICT … DO UPDATE), compiled once per model, row count and fields. Building that
    statement through the ORM was 4-5 ms of CPU for a rollup row (issue 9). No signals (see `insert`)."""
    if not objs:
        return
    model = type(objs[0])
    connection = connections["default"]
    key = (model, len(objs), tuple(unique), tuple(update), connection.vendor)
    found = _UPSERTS.get(key)
    if found is None:
        q = connection.ops.quote_name
        meta = model._meta
        sql, plan = _insert_rows(model, len(objs), connection)
        conflict = ", ".join(q(meta.get_field(name).column) for name in unique)
        sets = ", ".join(
            f"{q(c)} = EXCLUDED.{q(c)}" for c in (meta.get_field(name).column for name in update)
        )
        found = _UPSERTS[key] = (f"{sql} ON CONFLICT ({conflict}) DO UPDATE SET {sets}", plan)
    sql, plan = found
    params = [value for obj in objs for value in save_values(plan, obj, connection, add=True)]
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, params)


def _insert_rows(model: Any, rows: int, connection: Any) -> tuple[str, list[Any]]:
    """`INSERT INTO … VALUES (…), …` for `rows` new rows of `model`, and the save plan of one row."""
    fields = inserted_fields(model)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"{insert_into(model, fields, connection)} VALUES {', '.join([row] * rows)}", save_plan(
        fields, connection
    )


def inserted_fields(model: Any) -> list[Any]:
    """The fields an INSERT of `model` writes (all but an automatic primary key)."""
    pk = model._meta.pk
    fields = [f for f in model._meta.local_concrete_fields if f is not pk or not f.auto_created]
    assert all(not getattr(f, "generated", False) and not f.has_db_default() for f in fields)
    return fields


def insert_into(model: Any, fields: list[Any], connection: Any) -> str:
    q = connection.ops.quote_name
    return f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in fields)})"


def saved(objs: Any, ids: list[Any]) -> None:
    """The new instances as save() leaves them: their ids, saved in the default database."""
    for obj, pk_value in zip(objs, ids, strict=True):
        obj.pk = pk_value
        obj._state.adding = False
        obj._state.db = "default"


_UPDATES: dict[tuple[Any, ...], tuple[str, list[Any]]] = {}


def update(obj: Any, fields: list[str]) -> None:
    """UPDATE these fields of a saved instance (what `save(update_fields=...)` writes), compiled once per
    model and set of fields; no signals (see `insert`)."""
    model = type(obj)
    connection = connections["default"]
    fields = list(dict.fromkeys(fields))
    key = (model, tuple(fields), connection.vendor)
    found = _UPDATES.get(key)
    if found is None:
        sql, targets = _update_sql(model, fields, connection)
        found = _UPDATES[key] = (sql, save_plan(targets, connection))
    sql, plan = found
    params = save_values(plan, obj, connection, add=False)
    params.append(obj.pk)
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount == 0:
            raise DatabaseError(_NO_ROW)


# What save(update_fields=...) raises when the row is gone.
_NO_ROW = "Save with update_fields did not affect any rows."


def _update_sql(model: Any, fields: list[str], connection: Any) -> tuple[str, list[Any]]:
    """`UPDATE … SET <fields> WHERE pk = %s` for `model`, and the fields it sets."""
    meta = model._meta
    q = connection.ops.quote_name
    targets = [meta.get_field(name) for name in fields]
    sets = ", ".join(f"{q(f.column)} = %s" for f in targets)
    return f"UPDATE {q(meta.db_table)} SET {sets} WHERE {q(meta.pk.column)} = %s", targets


_CHAINS: dict[tuple[Any, ...], tuple[str, Any, Any]] = {}


def update_and_insert(obj: Any, fields: list[str], new: Any) -> None:
    """`update(obj, fields)` and `insert(new)` in one statement on PostgreSQL (elsewhere the two): a
    case's new version and the event that records it are one change (issue 9: a round trip fewer in
    every service's write). The INSERT runs only if the UPDATE found its row, as `update` would have
    raised before `insert` ran: no row, no event, the same error."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        update(obj, fields)
        insert(new)
        return
    fields = list(dict.fromkeys(fields))
    key = (type(obj), tuple(fields), type(new))
    found = _CHAINS.get(key)
    if found is None:
        update_sql, targets = _update_sql(type(obj), fields, connection)
        columns = inserted_fields(type(new))
        # Typed: a value in a SELECT list has no column to take its type from (NULL would be text).
        values = ", ".join(f"%s::{column_type(f, connection)}" for f in columns)
        sql = (
            f"WITH u AS ({update_sql} RETURNING 1) {insert_into(type(new), columns, connection)} "
            f"SELECT {values} FROM u RETURNING {connection.ops.quote_name(new._meta.pk.column)}"
        )
        found = _CHAINS[key] = (sql, save_plan(targets, connection), save_plan(columns, connection))
    sql, plan, new_plan = found
    params = [
        *save_values(plan, obj, connection, add=False),
        obj.pk,
        *save_values(new_plan, new, connection, add=True),
    ]
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, params)
        ids = cursor.fetchall()
    if not ids:
        raise DatabaseError(_NO_ROW)
    saved([new], [ids[0][0]])


def column_type(field: Any, connection: Any) -> str:
    """The type to cast a value for `field` to: the column's, but text for text columns (a cast to
    varchar(n) would cut a longer value, where the INSERT refuses it)."""
    if isinstance(field, (CharField, TextField)):  # e-mail, slug and URL fields are char fields
        return "text"
    return str(field.db_type(connection))


# ------------------------------------------------------------------ the values a save writes

# Fields whose database value is the Python value itself when it has this type (Django's conversion,
# get_db_prep_save, checks and hands it back unchanged): text, booleans, and references to integer ids.
_UNCHANGED: dict[type, type] = {
    CharField: str,
    TextField: str,
    EmailField: str,
    SlugField: str,
    URLField: str,
    BooleanField: bool,
}
_SAMPLES: dict[type, Any] = {str: "sample", bool: True, int: 1_234_567_890}


def _unchanged_type(field: Any, connection: Any) -> type | None:
    """The type of the values `field` writes as they are, or None (convert each value). Only exact field
    classes (a subclass may convert), and checked on this connection with a sample and None."""
    if type(field) is ForeignKey:
        target = field.target_field
        kind = int if type(target) in (AutoField, BigAutoField) else _UNCHANGED.get(type(target))
    else:
        kind = _UNCHANGED.get(type(field))
    if kind is None:
        return None
    sample = _SAMPLES[kind]
    if field.get_db_prep_save(sample, connection) is not sample or field.get_db_prep_save(None, connection):
        return None
    return kind


def save_plan(fields: list[Any], connection: Any) -> list[tuple[Any, str | None, type | None]]:
    """Per field: the field, its attribute when its pre_save only reads it (else None), and the type its
    values are written unchanged in (else None)."""
    return [
        (
            f,
            f.attname if type(f).pre_save is Field.pre_save else None,
            _unchanged_type(f, connection),
        )
        for f in fields
    ]


def save_values(
    plan: list[tuple[Any, str | None, type | None]], obj: Any, connection: Any, *, add: bool
) -> list[Any]:
    """What `save()` writes for the planned fields of `obj` (each field's pre_save, then its database
    preparation), without the calls that would hand back the value unchanged (issue 9: an opened
    case writes about 70 values; the conversions were a tenth of the write's CPU under the profiler)."""
    values = []
    for field, attname, kind in plan:
        value = getattr(obj, attname) if attname is not None else field.pre_save(obj, add)
        if kind is not None and (
            value is None or type(value) is kind or (kind is str and isinstance(value, str))
        ):
            values.append(value)
        else:
            values.append(field.get_db_prep_save(value, connection))
    return values
