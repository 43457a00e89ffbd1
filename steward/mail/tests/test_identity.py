from steward.mail import identity


def test_subject_token_round_trip_and_forgery_refused():
    subject = identity.subject_with_token("Router broken", 1234)
    assert identity.case_number_from_subject(subject) == 1234
    assert identity.case_number_from_subject("Re: " + subject) == 1234
    assert identity.subject_with_token(subject, 1234) == subject  # not added twice
    forged = subject.replace("[ST#1234-", "[ST#1235-")
    assert identity.case_number_from_subject(forged) is None
    assert identity.case_number_from_subject("no token here") is None


def test_message_id_names_its_case_and_foreign_ids_name_none():
    mid = identity.new_message_id(77)
    assert mid.startswith("<st.77.") and mid.endswith(">")
    assert identity.case_number_from_message_id(mid) == 77
    assert identity.new_message_id(77) != mid
    assert identity.case_number_from_message_id(mid.replace("st.77.", "st.78.")) is None
    assert identity.case_number_from_message_id("<CAF=abc@mail.gmail.com>") is None
    assert identity.case_number_from_message_id("") is None
