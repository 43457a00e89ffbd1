from steward.cases.models import Case, EventKind, Status
from steward.cases.services import case_hand_off, case_propose_solution, case_reply
from steward.testing import DONE, NEED


def test_case_lifecycle_appends_events(case, adviser, other_adviser):
    case_reply(actor=adviser, case=case, body="We are on it.")
    case_hand_off(actor=adviser, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE)
    case_propose_solution(actor=other_adviser, case=case, solution="Replacement is ready at the store.")
    case.refresh_from_db()
    assert case.status == Status.SOLUTION_PROPOSED
    assert case.owner == other_adviser
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds == [
        EventKind.OPENED,
        EventKind.MESSAGE_IN,
        EventKind.MESSAGE_OUT,
        EventKind.HANDOFF,
        EventKind.SOLUTION_PROPOSED,
    ]
    assert Case.objects.visible_to(adviser).filter(pk=case.pk).exists()
