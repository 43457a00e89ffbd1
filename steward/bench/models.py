"""Tables for the benchmark and the scale-out test only; nothing in Steward reads them."""

from django.db import models


class BenchWrite(models.Model):
    """The INSERT ceiling: one single-row insert per request (scripts/bench.sh)."""

    note = models.CharField(max_length=40)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"bench write {self.pk}"


class JobRun(models.Model):
    """One execution of the scale-out test's job (steward.bench.tasks.record_job_run).

    The unique constraint makes a second execution of the same job fail loudly instead of hiding.
    """

    run = models.CharField(max_length=40)
    job = models.PositiveIntegerField()
    worker = models.CharField(max_length=200)
    executed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "job"], name="jobrun_once_per_job")]

    def __str__(self) -> str:
        return f"{self.run}/{self.job} on {self.worker}"
