import pytest

from steward.reviews.services import root_causes_ensure_default


@pytest.fixture(autouse=True)
def default_root_causes(db):
    """The root-cause tree comes from a data migration; a transactional test elsewhere in the run
    (IMAP, browser) flushes the database and with it that tree, so every review test restores it."""
    root_causes_ensure_default()
