"""localized_path gives what reverse gives, from a template reversed once."""

from __future__ import annotations

import pytest
from django.urls import reverse, set_script_prefix
from django.utils import translation

from steward.core import paths

LANGUAGES = ["en", "th", "ru", "es"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", ["AbC-12_x", "k", "0123456789" * 4])
def test_it_gives_what_reverse_gives(language, key):
    with translation.override(language):
        assert paths.localized_path("portal:case", language, key=key) == reverse(
            "portal:case", kwargs={"key": key}
        )
        assert paths.localized_path("portal:cases", language) == reverse("portal:cases")
        assert paths.localized_path("cases:detail", language, pk=42) == reverse("cases:detail", args=[42])


def test_the_language_is_the_argument_not_the_active_one():
    with translation.override("th"):
        assert paths.localized_path("portal:cases", "ru") == "/ru/portal/"


def test_a_value_reverse_would_quote_is_reversed():
    for odd in ("a b", "é%", "x.y"):
        with translation.override("en"):
            assert paths.localized_path("portal:case", "en", key=odd) == reverse(
                "portal:case", kwargs={"key": odd}
            )


def test_a_script_prefix_is_kept_apart():
    try:
        set_script_prefix("/steward/")
        with translation.override("en"):
            assert (
                paths.localized_path("portal:cases", "en") == reverse("portal:cases") == "/steward/en/portal/"
            )
    finally:
        set_script_prefix("/")
    assert paths.localized_path("portal:cases", "en") == "/en/portal/"
