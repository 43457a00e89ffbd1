"""The default root-cause tree (seeded by migration 0002). Names are msgids, translated on display."""

from django.utils.translation import gettext_noop

TREE = {
    ("capacity", gettext_noop("Capacity")): [
        ("capacity-peak", gettext_noop("Demand peak without extra staff")),
        ("capacity-absence", gettext_noop("Staff away without cover")),
        ("capacity-skills", gettext_noop("Too few people with the needed skill")),
    ],
    ("process", gettext_noop("Process")): [
        ("process-handoff", gettext_noop("Unclear handoff between sectors")),
        ("process-target", gettext_noop("No or unrealistic target time")),
        ("process-priority", gettext_noop("Queue order ignores the customer's date")),
        ("process-rework", gettext_noop("Rework: task returned for missing details")),
    ],
    ("information", gettext_noop("Information")): [
        ("information-missing", gettext_noop("Information missing at handoff")),
        ("information-status", gettext_noop("Customer not told the status")),
        ("information-data", gettext_noop("Wrong or outdated data")),
    ],
    ("tools", gettext_noop("Tools")): [
        ("tools-outage", gettext_noop("System outage or slowness")),
        ("tools-visibility", gettext_noop("Queue not visible to the sector")),
    ],
    ("supplier", gettext_noop("Supplier")): [
        ("supplier-late", gettext_noop("Supplier or carrier late")),
        ("supplier-stock", gettext_noop("Stock not available")),
    ],
}
