"""Error shapes every app's API documents."""

from typing import Any

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer[Any]):
    """A 400: field name → list of messages (non_field_errors for the whole request)."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


class DetailSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
