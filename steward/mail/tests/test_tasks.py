from steward.mail.tasks import poll_imap


def test_poll_is_a_no_op_without_an_imap_host(settings):
    settings.STEWARD_IMAP_HOST = ""
    assert poll_imap() == {"skipped": "STEWARD_IMAP_HOST is not set"}


def test_poll_is_a_periodic_task_in_the_beat_schedule():
    from config.celery import app

    tasks = [entry["task"] for entry in app.conf.beat_schedule.values()]
    assert "steward.mail.tasks.poll_imap" in tasks
    assert "steward.mail.tasks.poll_imap" in app.tasks


def test_poll_refuses_to_run_inside_a_transaction(settings, db):
    import pytest

    settings.STEWARD_IMAP_HOST = "127.0.0.1"
    with pytest.raises(RuntimeError, match="outside a database transaction"):
        poll_imap()  # the test's own transaction is open here
