"""API shapes for customers. Shape only: the rules (a name, one customer per address) live in services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from .models import Customer


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES, default="en", help_text="The language we write to the customer in."
    )

    class Meta:
        model = Customer
        fields = ["id", "name", "email", "phone", "language", "organisation", "created_at"]
        read_only_fields = ["id", "created_at"]


class CustomerFilterSerializer(serializers.Serializer[Any]):
    """Query parameters of the customer list."""

    q = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Search name, e-mail or phone."
    )
    email = serializers.CharField(
        required=False, allow_blank=True, max_length=254, help_text="Exactly this e-mail address."
    )
