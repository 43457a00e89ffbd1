"""The default root-cause tree (seeded by migration 0002). Names are msgids, translated on display."""

from django.utils.translation import gettext_noop as N_

TREE = {
    ("capacity", N_("Capacity")): [
        ("capacity-peak", N_("Demand peak without extra staff")),
        ("capacity-absence", N_("Staff away without cover")),
        ("capacity-skills", N_("Too few people with the needed skill")),
    ],
    ("process", N_("Process")): [
        ("process-handoff", N_("Unclear handoff between sectors")),
        ("process-target", N_("No or unrealistic target time")),
        ("process-priority", N_("Queue order ignores the customer's date")),
        ("process-rework", N_("Rework: task returned for missing details")),
    ],
    ("information", N_("Information")): [
        ("information-missing", N_("Information missing at handoff")),
        ("information-status", N_("Customer not told the status")),
        ("information-data", N_("Wrong or outdated data")),
    ],
    ("tools", N_("Tools")): [
        ("tools-outage", N_("System outage or slowness")),
        ("tools-visibility", N_("Queue not visible to the sector")),
    ],
    ("supplier", N_("Supplier")): [
        ("supplier-late", N_("Supplier or carrier late")),
        ("supplier-stock", N_("Stock not available")),
    ],
}
