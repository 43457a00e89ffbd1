"""Issue 9 (write cost): drop the single-column indexes of case.customer, case.owner, case.team,
caseevent.case and message.case. Each is the first column of a composite index (case_customer,
case_owner_status, case_team_status, event_case_at / event_case_version, message_case) that serves the
same look-ups, so every INSERT kept a redundant copy up to date. Only the indexes are dropped (quick
at 1M): a plain AlterField would also drop and re-add each foreign key, checking every row again."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# The indexes Django made for the foreign keys (the same names on PostgreSQL and SQLite).
DROPPED = [
    ("cases_case_customer_id_3e0cf925", "cases_case", "customer_id"),
    ("cases_case_owner_id_352cf2f7", "cases_case", "owner_id"),
    ("cases_case_team_id_60679476", "cases_case", "team_id"),
    ("cases_caseevent_case_id_6c6031ac", "cases_caseevent", "case_id"),
    ("cases_message_case_id_544aca6d", "cases_message", "case_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_sessions"),
        ("cases", "0010_message_inbound_at_index"),
        ("customers", "0003_customer_erased_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
                )
                for name, table, column in DROPPED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="owned_cases",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="accounts.team",
                        verbose_name="team",
                    ),
                ),
                migrations.AlterField(
                    model_name="caseevent",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="cases.case",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="cases.case",
                    ),
                ),
            ],
        ),
    ]
