"""Trigram index on the case subject for the case list's text search (issue 9, bench helper).

PostgreSQL only (pg_trgm, a trusted extension since PostgreSQL 13); nothing happens on SQLite. The
expression matches what Django's `icontains` generates: UPPER("subject"::text) LIKE UPPER('%term%').
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS case_subject_trgm ON cases_case USING gin (UPPER(subject::text) gin_trgm_ops)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS case_subject_trgm")


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_case_open_by_owner_index")]

    operations = [migrations.RunPython(forwards, backwards)]
