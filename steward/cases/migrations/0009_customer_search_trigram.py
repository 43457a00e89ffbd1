"""Trigram indexes on the customer's name and e-mail for the case list's text search (issue 9).

The case list matches customers first (`selectors._customer_match`: UPPER(name) LIKE '%term%' OR
UPPER(email) LIKE '%term%'); without these indexes that is a sequential scan of every customer (290 ms at
200,000 customers). They serve the case list, so they live with the cases migrations (the customers app
keeps its own schema; its models are unchanged). PostgreSQL only (pg_trgm); nothing happens on SQLite.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in ("name", "email"):
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS customer_{column}_trgm ON customers_customer "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in ("name", "email"):
        schema_editor.execute(f"DROP INDEX IF EXISTS customer_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_compensation_event_kinds"),
        ("customers", "0002_customer_value_and_economics_inputs"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
