"""The reference policy (shared/REFERENCE-POLICY.md) replayed with `simulate`, to the second.

Times are UTC. Business hours are 09:00-17:00 Europe/London, Monday to Friday: 09:00 UTC in
GMT (until 2026-03-29), 08:00 UTC in BST.
"""

from __future__ import annotations

from tests.engine.engine_helpers import Sim, brief, pick

HIGH_FRIDAY = """
until: 2026-03-14T00:00:00Z
tickets:
  - {id: ZD-1, system: zendesk, title: "Cannot log in", created_at: 2026-03-06T15:00:00Z,
     priority: high, organization: Acme, category: account, customer_tier: standard,
     affected_users: 3}
"""


def test_unanswered_high_ticket_climbs_every_level_over_the_weekend(sim: Sim) -> None:
    r = sim(HIGH_FRIDAY)
    # first response 4 h: Friday 15-17 (2 h) + Monday 09-11 -> due Monday 11:00;
    # at risk at 75% (3 h): Monday 10:00
    assert brief(r) == [
        ("2026-03-09T10:00:00Z", "sla-at-risk", "add_labels", None),
        ("2026-03-09T10:00:00Z", "sla-at-risk", "comment", None),
        ("2026-03-09T10:00:00Z", "sla-at-risk", "add_labels", 1),
        ("2026-03-09T10:00:00Z", "sla-at-risk", "assign", 1),
        ("2026-03-09T10:00:00Z", "sla-at-risk", "comment", 1),
        ("2026-03-09T10:00:00Z", "sla-at-risk", "notify", 1),
        ("2026-03-09T11:00:00Z", "sla-breached", "add_labels", None),
        ("2026-03-09T11:00:00Z", "sla-breached", "set_priority", None),
        ("2026-03-09T11:00:00Z", "sla-breached", "remove_labels", 2),
        ("2026-03-09T11:00:00Z", "sla-breached", "add_labels", 2),
        ("2026-03-09T11:00:00Z", "sla-breached", "assign", 2),
        ("2026-03-09T11:00:00Z", "sla-breached", "comment", 2),
        ("2026-03-09T11:00:00Z", "sla-breached", "notify", 2),
        # resolution 24 h -> Wednesday 15:00; 150% (36 h) -> Friday 13 March 11:00
        ("2026-03-13T11:00:00Z", "long-breach", "remove_labels", 3),
        ("2026-03-13T11:00:00Z", "long-breach", "add_labels", 3),
        ("2026-03-13T11:00:00Z", "long-breach", "assign", 3),
        ("2026-03-13T11:00:00Z", "long-breach", "comment", 3),
        ("2026-03-13T11:00:00Z", "long-breach", "notify", 3),
    ]
    at_risk = r["actions"]
    assert at_risk[0]["labels"] == ["sla-at-risk"]
    note = at_risk[1]
    assert note["public"] is False
    assert note["body"] == (
        "SLA at risk: the first response target is due Monday 09 March 2026, 11:00 GMT."
    )
    assert pick(r, kind="add_labels", level=1)[0]["labels"] == ["escalation-l1"]
    assert pick(r, kind="assign", level=1)[0]["group"] == "Tier 2 Support"
    assert pick(r, kind="notify", level=1)[0]["channel"] == "team-lead"
    update = pick(r, kind="comment", level=1)[0]
    assert update["public"] is True
    assert "escalated to our Team Lead team" in update["body"]
    assert "update by Monday 09 March 2026, 11:00 GMT" in update["body"]

    assert pick(r, kind="set_priority")[0]["priority"] == "urgent"
    assert pick(r, kind="remove_labels", level=2)[0]["labels"] == ["escalation-l1"]
    assert pick(r, kind="add_labels", level=2)[0]["labels"] == ["escalation-l2"]
    assert pick(r, kind="assign", level=2)[0]["group"] == "Support Managers"
    assert pick(r, kind="notify", level=2)[0]["channel"] == "support-manager"
    assert pick(r, kind="remove_labels", level=3)[0]["labels"] == ["escalation-l2"]
    assert pick(r, kind="assign", level=3)[0]["group"] == "Executive Escalations"
    assert pick(r, kind="notify", level=3)[0]["channel"] == "executive"
    assert "escalated to our Executive team" in pick(r, kind="comment", level=3)[0]["body"]

    ticket = r["tickets"]["ZD-1"]
    assert ticket["level"] == 3
    # the sidecar raised the priority to urgent: the targets still follow "high"
    assert ticket["sla"]["first_response"] == {
        "due": "2026-03-09T11:00:00Z",
        "met_at": None,
        "breached_at": "2026-03-09T11:00:00Z",
    }
    assert ticket["sla"]["resolution"] == {
        "due": "2026-03-11T15:00:00Z",
        "met_at": None,
        "breached_at": "2026-03-11T15:00:00Z",
    }
    assert ticket["sla"]["next_update"] == {"due": None, "met_at": None, "breached_at": None}


def test_sidecar_comments_never_count_as_the_first_response(sim: Sim) -> None:
    r = sim(HIGH_FRIDAY)
    # the level-1 customer update at 10:00 did not stop the first-response clock
    assert pick(r, rule="sla-breached", kind="set_priority")[0]["at"] == "2026-03-09T11:00:00Z"


def test_an_agent_reply_before_the_due_time_meets_the_first_response(sim: Sim) -> None:
    r = sim(
        HIGH_FRIDAY
        + """
events:
  - {at: 2026-03-09T09:30:00Z, ticket: ZD-1, comment: {author: agent, public: true, body: Hi}}
"""
    )
    # next update 8 h from Monday 09:30 -> Tuesday 09:30; at risk (6 h) Monday 15:30
    assert brief(r)[:2] == [
        ("2026-03-09T15:30:00Z", "sla-at-risk", "add_labels", None),
        ("2026-03-09T15:30:00Z", "sla-at-risk", "comment", None),
    ]
    assert "next update target is due Tuesday 10 March 2026, 09:30 GMT" in r["actions"][1]["body"]
    fr = r["tickets"]["ZD-1"]["sla"]["first_response"]
    assert fr == {
        "due": "2026-03-09T11:00:00Z",
        "met_at": "2026-03-09T09:30:00Z",
        "breached_at": None,
    }


def test_a_reply_exactly_at_the_due_instant_meets_the_target(sim: Sim) -> None:
    r = sim(
        HIGH_FRIDAY.replace("2026-03-14T00:00:00Z", "2026-03-09T12:00:00Z")
        + """
events:
  - {at: 2026-03-09T11:00:00Z, ticket: ZD-1, comment: {author: agent, public: true, body: Hi}}
"""
    )
    assert not pick(r, rule="sla-breached")
    assert r["tickets"]["ZD-1"]["sla"]["first_response"]["met_at"] == "2026-03-09T11:00:00Z"


def test_internal_notes_and_customer_comments_are_not_a_first_response(sim: Sim) -> None:
    r = sim(
        HIGH_FRIDAY.replace("2026-03-14T00:00:00Z", "2026-03-09T12:00:00Z")
        + """
events:
  - {at: 2026-03-09T09:10:00Z, ticket: ZD-1, comment: {author: agent, public: false, body: n}}
  - {at: 2026-03-09T09:20:00Z, ticket: ZD-1, comment: {author: customer, public: true, body: c}}
"""
    )
    assert pick(r, rule="sla-breached", kind="set_priority")[0]["at"] == "2026-03-09T11:00:00Z"


def test_bst_starts_on_29_march(sim: Sim) -> None:
    r = sim("""
until: 2026-03-31T00:00:00Z
tickets:
  - {id: T, created_at: 2026-03-27T13:00:00Z, priority: normal}
""")
    # first response 8 h: Friday 13:00-17:00 GMT (4 h) + Monday 09:00-13:00 BST (08-12 UTC);
    # at risk at 6 h: Monday 11:00 BST = 10:00 UTC
    assert pick(r, rule="sla-at-risk", kind="add_labels", level=None)[0]["at"] == (
        "2026-03-30T10:00:00Z"
    )
    assert pick(r, rule="sla-breached", kind="set_priority")[0]["at"] == "2026-03-30T12:00:00Z"
    note = pick(r, rule="sla-at-risk", kind="comment", level=None)[0]
    assert note["body"].endswith("due Monday 30 March 2026, 13:00 BST.")


def test_easter_2026_holidays_are_closed(sim: Sim) -> None:
    r = sim("""
until: 2026-04-08T00:00:00Z
tickets:
  - {id: T, created_at: 2026-04-02T14:00:00Z, priority: high}
""")
    # Thursday 15:00-17:00 BST (2 h); Good Friday and Easter Monday closed; Tuesday 09:00 BST
    assert pick(r, rule="sla-at-risk", kind="add_labels", level=None)[0]["at"] == (
        "2026-04-07T09:00:00Z"
    )
    assert r["tickets"]["T"]["sla"]["first_response"]["breached_at"] == "2026-04-07T10:00:00Z"


def test_pending_pauses_next_update_and_resolution(sim: Sim) -> None:
    r = sim("""
until: 2026-03-12T12:00:00Z
tickets:
  - {id: T, created_at: 2026-03-09T09:00:00Z, priority: normal}
events:
  - {at: 2026-03-09T10:00:00Z, ticket: T, comment: {author: agent, public: true, body: Hi}}
  - {at: 2026-03-09T11:00:00Z, ticket: T, set: {status: pending}}
  - {at: 2026-03-11T09:00:00Z, ticket: T, set: {status: open}}
""")
    sla = r["tickets"]["T"]["sla"]
    # next update 24 h from Monday 10:00: 1 h ran before pending, 23 h from Wednesday 09:00
    assert sla["next_update"] == {
        "due": "2026-03-13T16:00:00Z",
        "met_at": None,
        "breached_at": None,
    }
    # resolution 40 h from Monday 09:00: 2 h before pending, 38 h from Wednesday 09:00
    assert sla["resolution"] == {"due": "2026-03-17T15:00:00Z", "met_at": None, "breached_at": None}
    assert r["actions"] == []


def test_a_paused_target_has_no_due_time(sim: Sim) -> None:
    r = sim("""
until: 2026-03-10T12:00:00Z
tickets:
  - {id: T, created_at: 2026-03-09T09:00:00Z, priority: normal}
events:
  - {at: 2026-03-09T10:00:00Z, ticket: T, comment: {author: agent, public: true, body: Hi}}
  - {at: 2026-03-09T11:00:00Z, ticket: T, set: {status: pending}}
""")
    sla = r["tickets"]["T"]["sla"]
    assert sla["next_update"]["due"] is None
    assert sla["resolution"]["due"] is None


def test_reopening_resumes_resolution_with_the_time_already_elapsed(sim: Sim) -> None:
    timeline = """
until: {until}
tickets:
  - {{id: T, created_at: 2026-03-09T09:00:00Z, priority: normal}}
events:
  - {{at: 2026-03-09T09:30:00Z, ticket: T, comment: {{author: agent, public: true, body: Hi}}}}
  - {{at: 2026-03-09T13:00:00Z, ticket: T, set: {{status: solved}}}}
  - {{at: 2026-03-12T09:00:00Z, ticket: T, set: {{status: open}}}}
"""
    solved = sim(timeline.format(until="2026-03-11T12:00:00Z"))
    res = solved["tickets"]["T"]["sla"]["resolution"]
    assert res["met_at"] == "2026-03-09T13:00:00Z"
    reopened = sim(timeline.format(until="2026-03-12T10:00:00Z"))
    sla = reopened["tickets"]["T"]["sla"]
    # 4 h elapsed before solved; 36 h more from Thursday 09:00 -> Wednesday 18 March 13:00
    assert sla["resolution"] == {"due": "2026-03-18T13:00:00Z", "met_at": None, "breached_at": None}
    # next update: 3.5 h ran from the reply to solved; 20.5 h more -> Monday 16 March 13:30
    assert sla["next_update"]["due"] == "2026-03-16T13:30:00Z"
    assert reopened["actions"] == []


def test_a_person_raising_the_priority_tightens_targets_from_the_original_start(
    sim: Sim,
) -> None:
    r = sim("""
until: 2026-03-09T12:30:00Z
tickets:
  - {id: T, created_at: 2026-03-09T09:00:00Z, priority: normal}
events:
  - {at: 2026-03-09T10:00:00Z, ticket: T, set: {priority: high}}
""")
    # high: first response 4 h from 09:00 -> 13:00, at risk 12:00 (normal would be 15:00)
    assert pick(r, rule="sla-at-risk", kind="add_labels", level=None)[0]["at"] == (
        "2026-03-09T12:00:00Z"
    )
    assert r["tickets"]["T"]["sla"]["first_response"]["due"] == "2026-03-09T13:00:00Z"


def test_a_priority_change_can_breach_at_the_instant_it_is_made(sim: Sim) -> None:
    r = sim("""
until: 2026-03-09T11:00:00Z
tickets:
  - {id: T, created_at: 2026-03-09T09:00:00Z, priority: normal}
events:
  - {at: 2026-03-09T10:30:00Z, ticket: T, set: {priority: urgent}}
""")
    # urgent: 1 h on the 24x7 calendar from 09:00: breached at 10:00, noticed at the change
    assert {a["at"] for a in r["actions"]} == {"2026-03-09T10:30:00Z"}
    assert pick(r, rule="sla-at-risk", level=None)
    assert pick(r, rule="sla-breached", level=2)
    assert r["tickets"]["T"]["sla"]["first_response"]["breached_at"] == "2026-03-09T10:00:00Z"


def test_a_person_lowering_the_priority_after_the_sidecar_raised_it_is_followed(sim: Sim) -> None:
    r = sim(
        HIGH_FRIDAY.replace("2026-03-14T00:00:00Z", "2026-03-10T12:00:00Z")
        + """
events:
  - {at: 2026-03-09T12:00:00Z, ticket: ZD-1, set: {priority: low}}
"""
    )
    # the sidecar raised high -> urgent at 11:00; the person's "low" now sets the targets:
    # resolution 80 h from Friday 15:00 is far away, first response 16 h -> Tuesday 10 March 15:00
    assert r["tickets"]["ZD-1"]["sla"]["first_response"]["due"] == "2026-03-10T15:00:00Z"
    assert r["tickets"]["ZD-1"]["sla"]["next_update"]["due"] is None  # low has no next update
    # and the sidecar does not set its priority back
    assert len(pick(r, kind="set_priority")) == 1


def test_recurrence_counts_tickets_of_the_same_organisation_across_systems(sim: Sim) -> None:
    r = sim("""
until: 2026-03-09T10:00:00Z
tickets:
  - {id: HS-1, system: hubspot, created_at: 2026-02-08T10:00:00Z, status: solved,
     organization: Acme, category: billing}
  - {id: JSM-1, system: jira, created_at: 2026-03-05T10:00:00Z, status: solved,
     organization: Acme, category: billing}
  - {id: ZD-1, system: zendesk, created_at: 2026-03-09T09:00:00Z, organization: Acme,
     category: billing}
  - {id: ZD-2, system: zendesk, created_at: 2026-03-09T09:00:00Z, organization: Acme,
     category: technical}
  - {id: ZD-3, system: zendesk, created_at: 2026-03-09T09:00:00Z, organization: Initech,
     category: billing}
""")
    fired = {a["ticket"] for a in pick(r, rule="recurring-problem")}
    assert fired == {"ZD-1"}
    assert pick(r, rule="recurring-problem", kind="add_labels", level=None)[0] == {
        "at": "2026-03-09T09:00:00Z",
        "ticket": "ZD-1",
        "rule": "recurring-problem",
        "kind": "add_labels",
        "labels": ["recurring"],
    }
    assert pick(r, ticket="ZD-1", kind="add_labels", level=1)[0]["labels"] == ["escalation-l1"]


def test_recurrence_window_is_thirty_days(sim: Sim) -> None:
    r = sim("""
until: 2026-03-09T10:00:00Z
tickets:
  - {id: A, created_at: 2026-02-07T08:59:59Z, status: solved, organization: Acme, category: billing}
  - {id: B, created_at: 2026-03-05T10:00:00Z, status: solved, organization: Acme, category: billing}
  - {id: C, created_at: 2026-03-09T09:00:00Z, organization: Acme, category: billing}
""")
    assert not pick(r, rule="recurring-problem")  # A is 30 days and one second too old


def test_major_impact_goes_straight_to_level_3(sim: Sim) -> None:
    r = sim("""
until: 2026-03-09T09:00:00Z
tickets:
  - {id: ENT, created_at: 2026-03-09T09:00:00Z, priority: urgent, customer_tier: enterprise}
  - {id: MANY, created_at: 2026-03-09T09:00:00Z, priority: urgent, affected_users: 50}
  - {id: FEW, created_at: 2026-03-09T09:00:00Z, priority: urgent, affected_users: 49}
  - {id: HIGH, created_at: 2026-03-09T09:00:00Z, priority: high, customer_tier: enterprise}
""")
    assert {a["ticket"] for a in pick(r, rule="major-impact")} == {"ENT", "MANY"}
    for ticket in ("ENT", "MANY"):
        assert [a["kind"] for a in pick(r, ticket=ticket)] == [
            "add_labels",
            "add_labels",
            "assign",
            "comment",
            "notify",
        ]
        assert pick(r, ticket=ticket, kind="add_labels", level=None)[0]["labels"] == [
            "major-incident"
        ]
        assert pick(r, ticket=ticket, kind="add_labels", level=3)[0]["labels"] == ["escalation-l3"]
        assert r["tickets"][ticket]["level"] == 3
    # the promised update is the urgent first-response due time, in London time
    body = pick(r, ticket="ENT", kind="comment", level=3)[0]["body"]
    assert "update by Monday 09 March 2026, 10:00 GMT" in body


def test_six_public_agent_replies_escalate_to_level_1(sim: Sim) -> None:
    events = "\n".join(
        f"  - {{at: 2026-03-09T09:{m:02d}:00Z, ticket: T, comment: "
        f"{{author: agent, public: {str(m != 15).lower()}, body: r{m}}}}}"
        for m in (10, 15, 20, 25, 30, 35, 40)
    )
    r = sim(f"""
until: 2026-03-09T10:00:00Z
tickets:
  - {{id: T, created_at: 2026-03-09T09:00:00Z, priority: low}}
events:
{events}
""")
    # the internal note at 09:15 does not count: the sixth public reply is at 09:40
    assert {a["at"] for a in pick(r, rule="too-many-interactions")} == {"2026-03-09T09:40:00Z"}
    assert [a["kind"] for a in pick(r, rule="too-many-interactions")] == [
        "add_labels",
        "assign",
        "comment",
        "notify",
    ]


def test_technical_ticket_at_level_2_gets_one_engineering_issue_and_the_fix_update(
    sim: Sim,
) -> None:
    r = sim("""
until: 2026-03-11T00:00:00Z
tickets:
  - {id: T, title: Export fails, created_at: 2026-03-09T09:00:00Z, priority: high,
     category: technical}
events:
  - {at: 2026-03-10T12:00:00Z, ticket: T, linked_issue: resolved}
""")
    # first response 4 h -> breached 13:00 -> level 2 -> engineering at the same instant
    eng = pick(r, rule="engineering")
    assert [(a["at"], a["kind"]) for a in eng] == [
        ("2026-03-09T13:00:00Z", "create_linked_issue"),
        ("2026-03-09T13:00:00Z", "add_labels"),
    ]
    assert eng[0]["system"] == "jira"
    assert eng[0]["project"] == "ENG"
    assert eng[1]["labels"] == ["engineering"]
    fix = pick(r, rule="engineering-fixed")
    assert [(a["at"], a["kind"], a["public"]) for a in fix] == [
        ("2026-03-10T12:00:00Z", "comment", True)
    ]
    assert "fix in place" in fix[0]["body"]


def test_non_technical_tickets_get_no_engineering_issue(sim: Sim) -> None:
    r = sim(HIGH_FRIDAY)
    assert not pick(r, rule="engineering")


def test_solving_an_escalated_ticket_asks_for_confirmation_and_summarises(sim: Sim) -> None:
    r = sim(
        HIGH_FRIDAY
        + """
events:
  - {at: 2026-03-10T10:00:00Z, ticket: ZD-1, set: {status: solved}}
"""
    )
    closing = pick(r, rule="resolution-confirmation")
    assert [(a["at"], a["public"]) for a in closing] == [
        ("2026-03-10T10:00:00Z", True),
        ("2026-03-10T10:00:00Z", False),
    ]
    assert "confirm the issue is fully resolved" in closing[0]["body"]
    assert "concerns" in closing[0]["body"]
    summary = closing[1]["body"]
    assert "Level 1 (Team Lead) reached Monday 09 March 2026, 10:00 GMT" in summary
    assert "Level 2 (Department Manager) reached Monday 09 March 2026, 11:00 GMT" in summary
    assert "first_response: breached Monday 09 March 2026, 11:00 GMT" in summary
    assert "resolution: met Tuesday 10 March 2026, 10:00 GMT" in summary
    # solved: nothing else happens, no long-breach
    assert not pick(r, rule="long-breach")
    assert r["tickets"]["ZD-1"]["level"] == 2


def test_solving_a_ticket_that_never_escalated_says_nothing(sim: Sim) -> None:
    r = sim("""
until: 2026-03-10T00:00:00Z
tickets:
  - {id: T, created_at: 2026-03-09T09:00:00Z, priority: normal}
events:
  - {at: 2026-03-09T09:10:00Z, ticket: T, comment: {author: agent, public: true, body: done}}
  - {at: 2026-03-09T09:20:00Z, ticket: T, set: {status: solved}}
""")
    assert r["actions"] == []


def test_level_only_rises_and_rules_of_lower_levels_add_only_their_own_actions(sim: Sim) -> None:
    r = sim("""
until: 2026-03-09T12:00:00Z
tickets:
  - {id: T, created_at: 2026-03-09T09:00:00Z, priority: urgent, customer_tier: enterprise}
""")
    # level 3 at creation; at-risk (09:45) and breach (10:00) add labels but no level actions
    assert brief(r) == [
        ("2026-03-09T09:00:00Z", "major-impact", "add_labels", None),
        ("2026-03-09T09:00:00Z", "major-impact", "add_labels", 3),
        ("2026-03-09T09:00:00Z", "major-impact", "assign", 3),
        ("2026-03-09T09:00:00Z", "major-impact", "comment", 3),
        ("2026-03-09T09:00:00Z", "major-impact", "notify", 3),
        ("2026-03-09T09:45:00Z", "sla-at-risk", "add_labels", None),
        ("2026-03-09T09:45:00Z", "sla-at-risk", "comment", None),
        ("2026-03-09T10:00:00Z", "sla-breached", "add_labels", None),
    ]
    assert r["tickets"]["T"]["level"] == 3


def test_a_solved_ticket_does_not_escalate(sim: Sim) -> None:
    r = sim("""
until: 2026-03-20T00:00:00Z
tickets:
  - {id: T, created_at: 2026-03-09T09:00:00Z, priority: high, status: solved}
""")
    assert r["actions"] == []


def test_a_persons_reassignment_is_not_fought_until_a_higher_level(sim: Sim) -> None:
    r = sim(
        HIGH_FRIDAY.replace("2026-03-14T00:00:00Z", "2026-03-09T12:00:00Z")
        + """
events:
  - {at: 2026-03-09T10:30:00Z, ticket: ZD-1, set: {group: Billing, labels: []}}
"""
    )
    # level 1 assigned Tier 2 at 10:00; the person moved it to Billing at 10:30 (and cleared
    # the labels): nothing is set back until level 2 assigns Support Managers at 11:00
    assigns = [(a["at"], a["group"]) for a in pick(r, kind="assign")]
    assert assigns == [
        ("2026-03-09T10:00:00Z", "Tier 2 Support"),
        ("2026-03-09T11:00:00Z", "Support Managers"),
    ]
    assert not [a for a in r["actions"] if a["at"] == "2026-03-09T10:30:00Z"]
    # escalation-l1 is gone already, so reaching level 2 has nothing to remove
    assert not pick(r, kind="remove_labels", level=2)


def test_a_target_paused_at_this_very_instant_is_not_running(sim: Sim) -> None:
    r = sim("""
until: 2026-03-09T16:30:00Z
tickets:
  - {id: T, created_at: 2026-03-09T09:00:00Z, priority: normal}
events:
  - {at: 2026-03-09T09:30:00Z, ticket: T, comment: {author: agent, public: true, body: Hi}}
  - {at: 2026-03-09T16:00:00Z, ticket: T, set: {status: pending, priority: high}}
""")
    # at 16:00 next update would be at risk under "high", but the ticket is pending from that
    # same second: no target runs, so nothing fires
    assert r["actions"] == []


def test_a_person_choosing_again_the_priority_the_sidecar_set_is_followed(sim: Sim) -> None:
    r = sim(
        HIGH_FRIDAY.replace("2026-03-14T00:00:00Z", "2026-03-09T13:00:00Z")
        + """
events:
  - {at: 2026-03-09T12:00:00Z, ticket: ZD-1, set: {priority: low}}
  - {at: 2026-03-09T12:30:00Z, ticket: ZD-1, set: {priority: urgent}}
"""
    )
    # the sidecar raised high -> urgent at 11:00; the person's own "urgent" at 12:30 sets the
    # targets: 8 h on 24x7 from Friday 15:00 ran out long ago, 150% too -> level 3 at once
    assert r["tickets"]["ZD-1"]["sla"]["resolution"]["breached_at"] == "2026-03-06T23:00:00Z"
    assert [a["at"] for a in pick(r, rule="long-breach", kind="add_labels")] == [
        "2026-03-09T12:30:00Z"
    ]
