"""Routing rules and their configuration: what a rule decides, what start-up refuses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from contactcenter.errors import ConfigError
from contactcenter.routing.rules import PRIORITIES, RoutingFacts, choose_route, contains_phrase
from tests.hubprocess import ROOT
from tests.routing_factories import PRIORITY_RULES, routing_settings

RULES = """
[email.addresses]
"billing@example.com" = "billing"
"help@example.com" = "general"

[[routing.rules]]
name = "refunds to billing"
when = { keywords = ["refund", "charged twice"] }
then = { queue = "billing", type = "request" }

[[routing.rules]]
name = "phone menu 2 is technical"
when = { channel = ["voice"], ivr = ["2"] }
then = { queue = "technical" }

[[routing.rules]]
name = "enterprise technical issues are high"
when = { segment = ["enterprise"], type = ["incident"] }
then = { priority = "high" }
""" + PRIORITY_RULES


@pytest.fixture
def settings(tmp_path):
    return routing_settings(tmp_path, RULES)


def test_vip_complaint_is_urgent_plain_complaint_high_question_normal(settings):
    decide = lambda **facts: choose_route(settings, RoutingFacts(channel="web", **facts))  # noqa: E731
    assert decide(type="complaint", tier="vip").priority == PRIORITIES["urgent"]
    assert decide(type="complaint").priority == PRIORITIES["high"]
    assert decide(type="question").priority == PRIORITIES["normal"]
    assert decide(type="complaint", tier="VIP").rules == ("complaints first", "VIP customers first")


def test_keywords_pick_queue_and_type_by_whole_words(settings):
    refund = choose_route(settings, RoutingFacts(channel="email", text="Please REFUND order 7"))
    assert (refund.queue, refund.type) == ("billing", "request")
    # "refunded" is not the word "refund"; the mailbox decides instead.
    other = choose_route(settings, RoutingFacts(channel="email", address="Help@Example.com", text="I was refunded, thanks"))
    assert (other.queue, other.type) == ("general", "question")
    assert contains_phrase("You charged   me twice", "charged twice") is False
    assert contains_phrase("you CHARGED TWICE!", "charged twice") is True


def test_mailbox_ivr_and_segment(settings):
    assert choose_route(settings, RoutingFacts(channel="email", address="billing@example.com")).queue == "billing"
    assert choose_route(settings, RoutingFacts(channel="voice", ivr="2")).queue == "technical"
    assert choose_route(settings, RoutingFacts(channel="sms", ivr="2")).queue == "general"  # the rule is for calls
    enterprise = RoutingFacts(channel="web", segments=("Enterprise", "emea"), type="incident")
    assert choose_route(settings, enterprise).priority == PRIORITIES["high"]


def test_the_first_rule_naming_a_queue_wins(tmp_path):
    settings = routing_settings(
        tmp_path,
        """
[[routing.rules]]
name = "first"
when = { channel = ["web"] }
then = { queue = "technical" }
[[routing.rules]]
name = "second"
when = { channel = ["web"] }
then = { queue = "billing", priority = "low" }
""",
    )
    decision = choose_route(settings, RoutingFacts(channel="web"))
    # The queue comes from the first rule; "low" cannot lower the default "normal".
    assert (decision.queue, decision.priority) == ("technical", PRIORITIES["normal"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[routing.queues.refunds]\nskills = ["billing"]\nsla_policy = "gold"\ncalendar = "always"\n',
            "[routing.queues.refunds] sla_policy: no policy named 'gold'",
        ),
        (
            '[routing.queues.refunds]\nskills = []\nsla_policy = "standard"\ncalendar = "moon"\n',
            "[routing.queues.refunds] calendar: no calendar named 'moon'",
        ),
        (
            '[[routing.rules]]\nname = "x"\nwhen = { tier = ["VIP"] }\nthen = { queue = "vip" }\n',
            "[routing.rules[0]] then.queue: no queue named 'vip'",
        ),
        (
            '[[routing.rules]]\nname = "x"\nwhen = { tier = ["VIP"] }\nthen = { priority = "asap" }\n',
            "[routing.rules[0]] then.priority: 'asap' is not one of low, normal, high, urgent",
        ),
        (
            '[[routing.rules]]\nname = "x"\nwhen = { channel = ["fax"] }\nthen = { priority = "high" }\n',
            "[routing.rules[0]] when.channel: 'fax' is not one of web, api, email, sms, voice",
        ),
        ('[[routing.rules]]\nname = "x"\nwhen = { tier = ["VIP"] }\nthen = {}\n', "[routing.rules[0]] then: the rule 'x' decides nothing"),
        ('[[routing.rules]]\nname = "x"\nwhen = { colour = ["red"] }\nthen = { priority = "high" }\n', "unknown configuration key [routing] rules[0].when.colour"),
        ('[routing]\ndefault_queue = "nowhere"\n', "[routing] default_queue: no queue named 'nowhere'"),
        ('[calendars.always]\ntimezone = "Nowhere/City"\nhours = { mon = ["09:00-17:00"] }\nholidays = []\n', "[calendars.always] timezone: unknown time zone 'Nowhere/City'"),
        (
            '[sla.policies.standard]\nfirst_response_hours = { normal = 8, someday = 9 }\nresolution_hours = {}\nat_risk_ratio = 0.75\nbreach_raise_priority = true\nbreach_move_to_queue = ""\n',
            "[sla.policies.standard] first_response_hours.someday: unknown priority",
        ),
        (
            '[sla.policies.standard]\nfirst_response_hours = {}\nresolution_hours = {}\nat_risk_ratio = 1.5\nbreach_raise_priority = true\nbreach_move_to_queue = ""\n',
            "[sla.policies.standard] at_risk_ratio: must be between 0 and 1",
        ),
        (
            '[sla.policies.standard]\nfirst_response_hours = {}\nresolution_hours = {}\nat_risk_ratio = 0.5\nbreach_raise_priority = true\nbreach_move_to_queue = "escalations"\n',
            "[sla.policies.standard] breach_move_to_queue: no queue named 'escalations'",
        ),
        ('[routing.default_capacity]\npigeon = 2\n', "[routing.default_capacity] pigeon: unknown channel"),
    ],
)
def test_bad_routing_configuration_is_refused_naming_the_key(tmp_path, extra, message):
    with pytest.raises(ConfigError) as raised:
        routing_settings(tmp_path, extra)
    assert str(raised.value).startswith(message), str(raised.value)


def test_serve_refuses_to_start_on_bad_routing_configuration(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[routing.queues.billing]\nskills = []\nsla_policy = "gold"\ncalendar = "office"\n')
    run = subprocess.run(
        [sys.executable, "-m", "contactcenter", "--config", str(config), "serve"],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 2
    assert "[routing.queues.billing] sla_policy: no policy named 'gold'" in run.stderr
