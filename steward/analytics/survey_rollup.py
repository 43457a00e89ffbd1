"""The service dashboard's survey family per day (models.SurveyDay): counted as answers arrive, moved
when a case's scope changes, rebuilt set-based; read by service_days.

An answer adds one to the all-answers row of its day and to one row per scope field (team, owner,
category, channel, kind) under its case's CURRENT values, read from the case's `CaseContacts` copy
(which `rollups.refresh_contacts` keeps equal to the case):

- `record` (receiver of `steward.surveys.signals.response_recorded`, in the answer's transaction):
  one INSERT … SELECT … ON CONFLICT on PostgreSQL, a read and an upsert elsewhere;
- `move` (from `rollups.refresh_contacts`, when the copy's scope values changed: a handoff gives the
  case another owner and team): the case's answers are read by case and subtracted from the old
  rows, added to the new ones, in one upsert;
- `rebuild` (from `rollups.rebuild_all`, after the copies): one INSERT … SELECT on PostgreSQL, the
  same contributions summed in Python elsewhere.

The counts are those `service_figures` takes with conditional COUNTs on the answers (`_survey_parts`,
`_survey_extra`), `straight()` being the reference the tests compare with.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef, QuerySet

from .models import SurveyDay
from .service_figures import SCALES, SURVEY_ITEMS
from .service_rollup import DIMS, adding_excluded, adding_upsert_sql, local_day, sum_into

# The counts of the survey family, as service_figures names them, and their SurveyDay columns.
KEYS: tuple[str, ...] = (
    "rows",
    "csat.n",
    "csat.k",
    "ces.n",
    "ces.k",
    "nps.n",
    "nps.k",
    "nps.detractors",
    *(f"{item}.{part}" for item in SURVEY_ITEMS for part in ("n", "k")),
    *(f"{name}={score}" for name, scores in SCALES.items() for score in scores),
)
COLUMNS: tuple[str, ...] = tuple(k.replace(".", "_").replace("=", "_") for k in KEYS)
DIM_COLUMNS = {
    "team": "team_id",
    "owner": "owner_id",
    "category": "category_id",
    "channel": "channel",
    "kind": "kind",
}
# The key of an answer without a case under channel and kind (a case's channel or kind is never NULL,
# and the straight breakdown groups "no case" apart from any value); no scope filter selects it.
NO_CASE = "~"
# The answer fields a contribution is computed from.
ANSWER_FIELDS = ("responded_at", "csat", "ces", "nps", *SURVEY_ITEMS)

Key = tuple[date, str, str]  # day, dim, key
Contribution = dict[Key, tuple[dict[str, Any], list[int]]]


def answer_counters(answer: Mapping[str, Any], *, five_point: bool) -> list[int]:
    """What one answer adds to each column (service_figures._survey_parts and _survey_extra)."""
    v: dict[str, int] = {"rows": 1}
    csat, ces, nps = answer["csat"], answer["ces"], answer["nps"]
    if csat is not None and five_point:  # CSAT on another scale is in no CSAT count
        v |= {"csat.n": 1, "csat.k": int(csat >= 4), f"csat={csat}": 1}
    if ces is not None:
        v |= {"ces.n": 1, "ces.k": int(ces >= 5), f"ces={ces}": 1}
    if nps is not None:
        v |= {"nps.n": 1, "nps.k": int(nps >= 9), "nps.detractors": int(nps <= 6), f"nps={nps}": 1}
    for item in SURVEY_ITEMS:
        if answer[item] is not None:
            v |= {f"{item}.n": 1, f"{item}.k": int(answer[item] is True)}
    return [v.get(k, 0) for k in KEYS]


def contributions(day: date, dims: Mapping[str, Any] | None, counters: list[int]) -> Contribution:
    """The SurveyDay rows one answer adds to: key -> (dimension columns, counters). `dims` are the
    case copy's scope columns (team_id, …, kind), None for an answer without a case (or a copy)."""
    out: Contribution = {(day, "", ""): ({}, counters)}
    for dim in DIMS:
        column = DIM_COLUMNS[dim]
        value = None if dims is None else dims[column]
        key = (NO_CASE if dim in ("channel", "kind") else "") if value is None else str(value)
        out[(day, dim, key)] = ({column: value}, counters)
    return out


def _five_point() -> Exists:
    from steward.surveys.models import QuestionnaireVersion

    return Exists(QuestionnaireVersion.objects.filter(number=OuterRef("questionnaire_version"), csat_max=5))


def _answers(qs: QuerySet[Any]) -> QuerySet[Any]:
    """Answers with what a contribution needs: their fields, the case copy's scope columns (`c_…`;
    `c_case` NULL without a copy) and whether CSAT was on a 5-point scale: one query."""
    copy = {f"c_{col}": F(f"case__contacts_rollup__{col}") for col in DIM_COLUMNS.values()}
    return qs.annotate(five=_five_point(), c_case=F("case__contacts_rollup__case_id"), **copy).values(
        "case_id", *ANSWER_FIELDS, "five", "c_case", *copy
    )


def _dims_of(row: Mapping[str, Any]) -> dict[str, Any] | None:
    if row["c_case"] is None:
        return None
    return {col: row[f"c_{col}"] for col in DIM_COLUMNS.values()}


def _upsert_sql(n: int) -> str:
    columns = ("day", "dim", "key", *DIM_COLUMNS.values(), *COLUMNS)
    return adding_upsert_sql(SurveyDay._meta.db_table, columns, COLUMNS, ("dim", "key", "day"), n)


def apply(changes: Contribution) -> None:
    """Add the deltas to SurveyDay: one INSERT … ON CONFLICT DO UPDATE (none if nothing moved)."""
    changes = {k: v for k, v in changes.items() if any(v[1])}
    if not changes:
        return
    params: list[Any] = []
    for (day, dim, key), (cols, counters) in sorted(changes.items()):
        params += [day, dim, key, *(cols.get(c) for c in DIM_COLUMNS.values()), *counters]
    with connection.cursor() as cur:
        cur.execute(_upsert_sql(len(changes)), params)


# ------------------------------------------------------------------ an answer, a move

# Every answer (or one, `where`) with its case copy's scope columns, summed per day for all answers and
# per day and value of each scope field in ONE pass (GROUPING SETS; GROUPING() says which set a row
# sums: 31 all answers, 15 team, 23 owner, 27 category, 29 channel, 30 kind).
_PG_DAYS = """
INSERT INTO {days} (day, dim, key, team_id, owner_id, category_id, channel, kind, {columns})
SELECT g.day, g.dim,
  CASE g.dim WHEN '' THEN '' WHEN 'team' THEN coalesce(g.team_id::text, '')
    WHEN 'owner' THEN coalesce(g.owner_id::text, '') WHEN 'category' THEN coalesce(g.category_id::text, '')
    WHEN 'channel' THEN coalesce(g.channel, %(none)s) ELSE coalesce(g.kind, %(none)s) END,
  g.team_id, g.owner_id, g.category_id, g.channel, g.kind, {columns}
FROM (
  SELECT f.day, f.team_id, f.owner_id, f.category_id, f.channel, f.kind,
    CASE GROUPING(f.team_id, f.owner_id, f.category_id, f.channel, f.kind) WHEN 31 THEN ''
      WHEN 15 THEN 'team' WHEN 23 THEN 'owner' WHEN 27 THEN 'category' WHEN 29 THEN 'channel'
      ELSE 'kind' END AS dim,
    {sums}
  FROM (
    SELECT (r.responded_at AT TIME ZONE %(tz)s)::date AS day, c.team_id, c.owner_id, c.category_id,
      c.channel, c.kind, {counters}
    FROM {responses} r
    LEFT JOIN {contacts} c ON c.case_id = r.case_id
    LEFT JOIN {versions} v ON v.number = r.questionnaire_version AND v.csat_max = 5
    {where}
  ) f
  GROUP BY GROUPING SETS ((f.day), (f.day, f.team_id), (f.day, f.owner_id), (f.day, f.category_id),
    (f.day, f.channel), (f.day, f.kind))
) g
{conflict}
"""


def _counter_sql() -> list[str]:
    """answer_counters in SQL, per answer `r` (`v` its 5-point questionnaire version, if any)."""

    def when(cond: str) -> str:
        return f"CASE WHEN {cond} THEN 1 ELSE 0 END"

    five = "v.id IS NOT NULL"
    exprs = {
        "rows": "1",
        "csat.n": when(f"r.csat IS NOT NULL AND {five}"),
        "csat.k": when(f"r.csat >= 4 AND {five}"),
        "ces.n": when("r.ces IS NOT NULL"),
        "ces.k": when("r.ces >= 5"),
        "nps.n": when("r.nps IS NOT NULL"),
        "nps.k": when("r.nps >= 9"),
        "nps.detractors": when("r.nps <= 6"),
    }
    for item in SURVEY_ITEMS:
        exprs |= {f"{item}.n": when(f"r.{item} IS NOT NULL"), f"{item}.k": when(f"r.{item}")}
    for name, scores in SCALES.items():
        for score in scores:
            exprs[f"{name}={score}"] = when(
                f"r.{name} = {score}" + (f" AND {five}" if name == "csat" else "")
            )
    return [f"{exprs[k]} AS {c}" for k, c in zip(KEYS, COLUMNS, strict=True)]


def _pg_days(*, where: str = "", conflict: bool = False) -> str:
    from steward.surveys.models import QuestionnaireVersion, SurveyResponse

    from .models import CaseContacts

    q = connection.ops.quote_name
    days = q(SurveyDay._meta.db_table)
    return _PG_DAYS.format(
        days=days,
        columns=", ".join(COLUMNS),
        sums=", ".join(f"sum(f.{c}) AS {c}" for c in COLUMNS),
        counters=", ".join(_counter_sql()),
        responses=q(SurveyResponse._meta.db_table),
        contacts=q(CaseContacts._meta.db_table),
        versions=q(QuestionnaireVersion._meta.db_table),
        where=where,
        conflict=f"ON CONFLICT (dim, key, day) DO UPDATE SET {adding_excluded(days, COLUMNS)}"
        if conflict
        else "",
    )


def record(response_id: int) -> None:
    """A new answer: its counts under its case's current scope values, in the answer's transaction."""
    from steward.surveys.models import SurveyResponse

    if connection.vendor == "postgresql":  # one statement
        with connection.cursor() as cur:
            cur.execute(
                _pg_days(where="WHERE r.id = %(response)s", conflict=True),
                {"tz": settings.TIME_ZONE, "response": response_id, "none": NO_CASE},
            )
        return
    acc: Contribution = {}
    for row in _answers(SurveyResponse.objects.filter(pk=response_id)):
        sum_into(acc, _contribution_of(row, _dims_of(row)))
    apply(acc)


def on_response(sender: Any, response: Any, **kwargs: Any) -> None:
    """Receiver of `steward.surveys.signals.response_recorded`."""
    record(response.pk)


def _contribution_of(row: Mapping[str, Any], dims: Mapping[str, Any] | None) -> Contribution:
    counters = answer_counters(row, five_point=bool(row["five"]))
    return contributions(local_day(row["responded_at"]), dims, counters)


def move(changed: Mapping[int, tuple[Mapping[str, Any], Mapping[str, Any]]]) -> None:
    """Cases whose scope values changed ({case id: (old copy, new copy)}, each with the DIM_COLUMNS):
    their answers leave the old rows for the new ones. Two statements: the answers, the upsert."""
    from steward.surveys.models import SurveyResponse

    if not changed:
        return
    acc: Contribution = {}
    for row in _answers(SurveyResponse.objects.filter(case_id__in=list(changed))):
        old, new = changed[row["case_id"]]
        sum_into(acc, _contribution_of(row, old), -1)
        sum_into(acc, _contribution_of(row, new))
    apply(acc)


def scope_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return any(old[c] != new[c] for c in DIM_COLUMNS.values())


# ------------------------------------------------------------------ rebuild


def rebuild() -> int:
    """SurveyDay from every answer and the CaseContacts copies (fill those first). Returns the rows."""
    from steward.surveys.models import SurveyResponse

    SurveyDay.objects.all().delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(_pg_days(), {"tz": settings.TIME_ZONE, "none": NO_CASE})
            return cur.rowcount
    acc: Contribution = {}
    for row in _answers(SurveyResponse.objects.order_by()).iterator(chunk_size=5000):
        sum_into(acc, _contribution_of(row, _dims_of(row)))
    rows = [
        SurveyDay(day=d, dim=dim, key=key, **cols, **dict(zip(COLUMNS, counters, strict=True)))
        for (d, dim, key), (cols, counters) in acc.items()
    ]
    SurveyDay.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


__all__ = ["COLUMNS", "KEYS", "NO_CASE", "apply", "move", "rebuild", "record"]
