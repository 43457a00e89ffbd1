"""A default tree of root causes: conditions that make delays possible, never people."""

from django.db import migrations

from steward.reviews.root_causes import TREE


def seed(apps, schema_editor):
    RootCause = apps.get_model("reviews", "RootCause")
    for (code, name), children in TREE.items():
        parent, _ = RootCause.objects.get_or_create(code=code, defaults={"name": name})
        for child_code, child_name in children:
            RootCause.objects.get_or_create(code=child_code, defaults={"name": child_name, "parent": parent})


def unseed(apps, schema_editor):
    RootCause = apps.get_model("reviews", "RootCause")
    codes = [c for (code, _), kids in TREE.items() for c in [code, *(k for k, _ in kids)]]
    RootCause.objects.filter(code__in=codes, parent__isnull=False).delete()
    RootCause.objects.filter(code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_reviews_root_causes_actions")]
    operations = [migrations.RunPython(seed, unseed)]
