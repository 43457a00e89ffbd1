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
