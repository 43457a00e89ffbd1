from steward.mail.tasks import poll_imap


def test_poll_is_a_no_op_without_an_imap_host(settings):
    settings.STEWARD_IMAP_HOST = ""
    assert poll_imap() == {"skipped": "STEWARD_IMAP_HOST is not set"}


def test_poll_is_a_periodic_task_in_the_beat_schedule():
    from config.celery import app

    tasks = [entry["task"] for entry in app.conf.beat_schedule.values()]
    assert "steward.mail.tasks.poll_imap" in tasks
    assert "steward.mail.tasks.poll_imap" in app.tasks
