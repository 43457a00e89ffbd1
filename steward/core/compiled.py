"""Querysets compiled to SQL once per process, then run with other ids (issue 9).

Compiling a queryset (its columns, joins, ordering and quoting) cost 0.3-1 ms of CPU per query on every
case page, although the page's reads differ only by the case's id. `Compiled` compiles such a queryset
once, with stand-in ids, and then runs the same SQL with the real ids as its parameters; the rows become
model instances exactly as the queryset's own iteration makes them (same compiler state: columns,
related objects of select_related, converters).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Model, QuerySet

R = TypeVar("R")  # what the queryset yields: model instances, or values_list rows

# Stand-in ids the queryset is compiled with: far beyond any real id, one per argument.
_SENTINEL = 9_007_199_254_740_000


class Compiled(Generic[R]):
    """`build(*ids)` -> a QuerySet; `compiled(*ids)` -> its rows, as `list(build(*ids))` would be.

    Only for querysets whose SQL depends on the ids as parameter values alone (filters on ids, no
    `__in` lists, no slicing by an id). That is checked once, when compiling: each stand-in must be a
    parameter and never part of the SQL text; otherwise every call builds the queryset as usual."""

    def __init__(self, model: type[Model], build: Callable[..., QuerySet[Any, R]]) -> None:
        self.model = model
        self.build = build
        self._compiled: dict[str, tuple[QuerySet[Any, R], Any, str, list[Any]] | None] = {}

    def __call__(self, *ids: int) -> list[R]:
        db = router.db_for_read(self.model)
        if db not in self._compiled:
            self._compiled[db] = self._compile(len(ids))
        compiled = self._compiled[db]
        if compiled is None:
            return list(self.build(*ids))
        qs, compiler, sql, params = compiled
        values = {_SENTINEL + n: int(i) for n, i in enumerate(ids)}
        bound = [values.get(p, p) if type(p) is int else p for p in params]
        run = copy.copy(compiler)  # the compiled state (columns, related objects) is only read
        run.connection = connections[db]  # this thread's connection
        run.as_sql = lambda *args, **kwargs: (sql, bound)
        query = copy.copy(qs.query)
        query.get_compiler = lambda *args, **kwargs: run  # type: ignore[method-assign]
        clone = qs._chain()  # type: ignore[attr-defined]
        iterable = clone._iterable_class
        clone.query = query  # (the setter makes a values() queryset yield dicts: its iterable is kept)
        clone._iterable_class = iterable
        return list(clone)

    def _compile(self, n: int) -> tuple[QuerySet[Any, R], Any, str, list[Any]] | None:
        sentinels = [_SENTINEL + i for i in range(n)]
        qs = self.build(*sentinels)
        compiler = qs.query.get_compiler(using=qs.db)
        sql, params = compiler.as_sql()
        if any(str(s) in sql for s in sentinels) or any(params.count(s) == 0 for s in sentinels):
            return None
        return qs, compiler, sql, list(params)
