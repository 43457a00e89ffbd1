"""The soak run's wrk script and the benchmark's scenario list (no server, no wrk: pure functions)."""

from steward.bench import runner, soak


def _fixtures() -> runner.Fixtures:
    values = {
        k: ["1"]
        for k in ("case", "open_case", "customer", "portal_case", "writer_case", "date_from", "date_to")
    }
    return runner.Fixtures(session="s", portal_session="p", token="t", values=values)


def test_the_soak_mix_names_benchmark_scenarios_and_mixes_all_three_kinds_of_user():
    names = {s.name: s for s in runner.SCENARIOS}
    assert all(name in names for name, _weight in soak.MIX)
    auths = {names[name].auth for name, _weight in soak.MIX}
    assert auths == {"session", "portal", "portal_writer", "token"}  # agents, customers, API clients
    writes = sum(w for name, w in soak.MIX if names[name].method == "POST")
    assert 0 < writes < sum(w for _name, w in soak.MIX) / 2


def test_the_soak_script_picks_requests_and_reports_one_json_line():
    script = soak.mix_script(_fixtures())
    assert "request = function()" in script
    assert "wrk.format(m.method, p, m.headers, b)" in script
    assert script.count("table.insert(mix") == len(soak.MIX)
    assert runner.WRK_DONE in script
    # A customer's form post carries the CSRF cookie and header, as a browser does.
    assert runner.CSRF_SECRET in script


def test_missing_scenarios_are_named_not_silently_dropped():
    assert "decision assessment (a day)" in runner.MISSING or any(
        "decision" in s.name for s in runner.SCENARIOS
    )


def test_opened_cases_take_the_demos_first_contacts_safely():
    """Each opened case gets one of the demo's subjects, written into wrk's JSON body by Lua's gsub:
    no quote to break the JSON, no "%" that gsub would read as a capture."""
    import json

    contacts = runner.first_contacts()
    assert len(contacts["subject"]) > 3 and len(contacts["subject"]) == len(contacts["description"])
    opening = next(s for s in runner.SCENARIOS if s.name == "API: open a case")
    for subject, description in zip(contacts["subject"], contacts["description"], strict=True):
        assert "%" not in subject + description
        body = json.loads(
            opening.body.replace("{customer}", "1")
            .replace("{subject}", subject)
            .replace("{description}", description)
        )
        assert body["subject"] and body["description"]


def test_the_portal_writers_each_send_their_own_session_and_case():
    fx = _fixtures()
    fx.writers = [("s1", "k1"), ("s2", "k2")]
    writing = next(s for s in runner.SCENARIOS if s.auth == "portal_writer")
    script = runner.lua_script(writing, fx)
    from django.conf import settings

    assert '"k1", "k2"' in script
    assert f"{settings.SESSION_COOKIE_NAME}=s1;" in script and f"{settings.SESSION_COOKIE_NAME}=s2;" in script
    assert 'h["Cookie"] = w_cookie[i]' in script and "wrk.format(nil, p, h, b)" in script


def test_the_replied_cases_are_a_fixed_sample_of_the_generated_open_ones(personas):
    """Not the benchmark's own opened cases (they pile up at the head of the list run after run)."""
    import random

    from steward.accounts.models import Role, User
    from steward.cases.models import Case, Status
    from steward.cases.services import case_open

    bench = User.objects.create(username=runner.BENCH_USERNAME, role=Role.MANAGER)
    generated = [
        case_open(actor=personas.adviser, customer=personas.customer, subject=f"S{i}", description="D").pk
        for i in range(6)
    ]
    Case.objects.filter(pk=generated[0]).update(status=Status.CLOSED)
    own = case_open(actor=bench, customer=personas.customer, subject="Bench", description="D", owner=bench)
    first = runner.sample_open_cases(random.Random(1), bench, size=4)
    assert first == runner.sample_open_cases(random.Random(1), bench, size=4) == sorted(first)
    assert len(first) == 4 and own.pk not in first and generated[0] not in first
    everything = runner.sample_open_cases(random.Random(1), bench)
    assert own.pk not in everything and set(generated[1:]) <= set(everything)


def test_a_write_is_compared_with_the_ceiling_run_beside_it():
    def run(rps, p50_ms):
        return {"rps": rps, "p50_us": p50_ms * 1000}

    writes = [run(150, 20), run(200, 15), run(100, 30)]
    ceilings = [run(1000, 3), run(1250, 2.5), run(800, 3.75)]  # the machine's speed moved with them
    # pairs: 6.7×, 6×, 8× and 15 %, 16 %, 12.5 %: the medians
    assert runner.write_ratios(writes, ceilings) == (6.7, 0.15)
    # one ceiling run (the last) stands for all: 5.3×, 4×, 8× and 18.75 %, 25 %, 12.5 %
    assert runner.write_ratios(writes, ceilings[2:]) == (5.3, 0.188)
    assert runner.write_ratios([], ceilings) == (None, None)
    assert runner.write_ratios(writes, [run(0, 0)]) == (None, None)  # no ceiling measured: no ratio
