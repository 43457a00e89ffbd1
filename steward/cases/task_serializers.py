"""API shapes for sector tasks. Input shape only; the rules live in task_services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from steward.sectors.models import Sector, TaskKind

from .models import SectorTask, WorkLog
from .serializers import MAX_ID, MAX_TEXT, UserRefSerializer


class SectorRefSerializer(serializers.ModelSerializer[Sector]):
    class Meta:
        model = Sector
        fields = ["id", "name", "slug", "distance"]
        read_only_fields = fields


class SectorTaskSerializer(serializers.ModelSerializer[SectorTask]):
    sector = SectorRefSerializer(read_only=True)
    task_kind: serializers.StringRelatedField[Any] = serializers.StringRelatedField(
        read_only=True, allow_null=True
    )
    created_by = UserRefSerializer(read_only=True)
    assignee = UserRefSerializer(read_only=True, allow_null=True)
    work_minutes = serializers.SerializerMethodField()

    class Meta:
        model = SectorTask
        fields = [
            "id",
            "case",
            "sector",
            "task_kind",
            "description",
            "created_by",
            "assignee",
            "state",
            "target_minutes",
            "due_at",
            "created_at",
            "taken_at",
            "completed_at",
            "completion_note",
            "returned_at",
            "return_reason",
            "cancelled_at",
            "work_minutes",
        ]
        read_only_fields = fields

    def get_work_minutes(self, task: SectorTask) -> int:
        annotated = getattr(task, "work_minutes", None)
        if annotated is not None:
            return int(annotated)
        return sum(task.work_logs.values_list("minutes", flat=True))


class WorkLogSerializer(serializers.ModelSerializer[WorkLog]):
    user = UserRefSerializer(read_only=True)

    class Meta:
        model = WorkLog
        fields = ["id", "task", "user", "minutes", "note", "logged_at"]
        read_only_fields = fields


class TaskCreateSerializer(serializers.Serializer[Any]):
    sector = serializers.PrimaryKeyRelatedField(queryset=Sector.objects.all())
    task_kind = serializers.PrimaryKeyRelatedField(
        queryset=TaskKind.objects.all(), required=False, allow_null=True, default=None
    )
    description = serializers.CharField(max_length=MAX_TEXT)
    target_minutes = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)


class TaskFilterSerializer(serializers.Serializer[Any]):
    sector = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    ended = serializers.BooleanField(required=False, default=False)


class LogWorkSerializer(serializers.Serializer[Any]):
    minutes = serializers.IntegerField(min_value=1, max_value=12 * 60)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class CompleteSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TEXT)


class ReturnSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=MAX_TEXT)


class CancelSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class EmptySerializer(serializers.Serializer[Any]):
    pass
