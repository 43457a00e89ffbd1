"""The API shapes' fields, built once per class and copied per instance (serializers.BuiltOnceMixin)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rest_framework import serializers

from steward.cases import serializers as s
from steward.cases.serializers import BuiltOnceMixin, _copied

SHAPES = sorted(
    (
        cls
        for cls in vars(s).values()
        if isinstance(cls, type) and issubclass(cls, BuiltOnceMixin) and cls is not BuiltOnceMixin
    ),
    key=lambda cls: cls.__name__,
)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda cls: cls.__name__)
def test_a_copied_field_is_what_copy_copy_makes(shape):
    for name, field in shape().get_fields().items():
        ours, theirs = _copied(field), copy.copy(field)
        assert type(ours) is type(theirs), name
        child = getattr(field, "child", None)
        if child is None:
            assert ours.__dict__ == theirs.__dict__, name
        else:  # the child is copied too and points at the copy
            assert ours.child is not child and ours.child.parent is ours, name
            assert {k: v for k, v in ours.__dict__.items() if k != "child"} == {
                k: v for k, v in theirs.__dict__.items() if k != "child"
            }, name


def test_copies_are_independent_of_the_built_fields_and_of_each_other():
    first, second = s.ReplySerializer(), s.ReplySerializer()
    a: Any = first.fields["attachments"]
    b: Any = second.fields["attachments"]
    assert a is not b and a.child is not b.child
    assert a.parent is first and b.parent is second
    assert a.child.parent is a and b.child.parent is b
    assert isinstance(a.child, serializers.FileField)


@pytest.mark.django_db
def test_two_answers_in_a_row_do_not_share_state(personas):
    one = s.UserRefSerializer(personas.adviser).data
    other = s.UserRefSerializer(personas.manager).data
    assert one["id"] == personas.adviser.pk and other["id"] == personas.manager.pk
    assert one["username"] != other["username"]
