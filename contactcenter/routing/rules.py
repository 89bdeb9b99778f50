"""Routing rules: which queue a new ticket joins, how urgent it is, what type it is.

Pure decisions over plain facts about the contact and its customer, so every
rule can be tested without a database. The rules play the part of a Twilio
TaskRouter workflow: filters tried in order, each sending matching work
somewhere; here a rule may also set the ticket's priority and type. The checks
at the end run at start-up, so a rule naming a queue that does not exist stops
the hub with the exact key instead of misrouting customers later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contactcenter.contact import ChannelKind, TicketType
from contactcenter.errors import ConfigError

if TYPE_CHECKING:
    from contactcenter.settings import RoutingRule, Settings

# Ticket.priority is stored as a number so "highest first" is one ORDER BY.
PRIORITIES = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
PRIORITY_NAMES = {number: name for name, number in PRIORITIES.items()}
DEFAULT_PRIORITY = PRIORITIES["normal"]
CHANNELS = tuple(kind.value for kind in ChannelKind)
TICKET_TYPES = tuple(kind.value for kind in TicketType)


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingFacts:
    """What the rules may look at: the contact and its customer, nothing else."""

    channel: str
    address: str = ""  # mailbox, number or form the contact arrived through
    ivr: str = ""  # the caller's menu choice
    text: str = ""  # subject and body
    tier: str = ""
    segments: tuple[str, ...] = ()
    type: str = TicketType.QUESTION.value


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    queue: str
    priority: int
    type: str
    rules: tuple[str, ...]  # names of the rules that applied, for the audit trail


def choose_route(settings: Settings, facts: RoutingFacts) -> RoutingDecision:
    """Apply the rules in order: first queue and type named win, the most urgent priority wins."""
    queue = ""
    ticket_type = ""
    priority = DEFAULT_PRIORITY
    applied = []
    for rule in settings.routing.rules:
        current = ticket_type or facts.type
        if not rule_applies(rule, facts, current):
            continue
        applied.append(rule.name)
        queue = queue or rule.then.queue
        ticket_type = ticket_type or rule.then.type
        if rule.then.priority:
            priority = max(priority, PRIORITIES[rule.then.priority])
    return RoutingDecision(
        queue=queue or fallback_queue(settings, facts.channel, facts.address),
        priority=priority,
        type=ticket_type or facts.type,
        rules=tuple(applied),
    )


def rule_applies(rule: RoutingRule, facts: RoutingFacts, ticket_type: str) -> bool:
    when = rule.when
    checks = (
        (when.channel, lambda: facts.channel in when.channel),
        (when.address, lambda: facts.address.lower() in {a.lower() for a in when.address}),
        (when.ivr, lambda: facts.ivr in when.ivr),
        (when.keywords, lambda: any(contains_phrase(facts.text, k) for k in when.keywords)),
        (when.tier, lambda: facts.tier.lower() in {t.lower() for t in when.tier}),
        (when.segment, lambda: bool({s.lower() for s in facts.segments} & {s.lower() for s in when.segment})),
        (when.type, lambda: ticket_type in when.type),
    )
    return all(test() for condition, test in checks if condition)


def contains_phrase(text: str, phrase: str) -> bool:
    """Whole words only: "refund" matches "Refund please", not "refunded"."""
    pattern = r"(?<!\w)" + re.escape(phrase.lower().strip()) + r"(?!\w)"
    return re.search(pattern, text.lower()) is not None


def fallback_queue(settings: Settings, channel: str, address: str) -> str:
    """Where a contact no rule places goes: its mailbox's queue, its channel's, or the default."""
    if channel == ChannelKind.EMAIL:
        addresses = {k.lower(): v for k, v in settings.email.addresses.items()}
        if address.lower() in addresses:
            return addresses[address.lower()]
    return settings.routing.channel_queues.get(channel, settings.routing.default_queue)


def raised(priority: int) -> int:
    return min(priority + 1, max(PRIORITIES.values()))


# --- start-up checks ---------------------------------------------------------


def check_routing_settings(settings: Settings) -> None:
    """Reject queues, rules, policies and calendars that cannot work, naming the key."""
    from contactcenter.routing.calendars import parse_calendar

    routing = settings.routing
    queues = routing.queues
    policies = settings.sla.policies

    def no_queue(where: str, key: str, name: str) -> None:
        if name not in queues:
            raise ConfigError(f"[{where}] {key}: no queue named {name!r}")

    for name, calendar in settings.calendars.items():
        try:
            parse_calendar(calendar)
        except ValueError as exc:
            raise ConfigError(f"[calendars.{name}] {exc}") from None

    for name, queue in queues.items():
        where = f"routing.queues.{name}"
        if any(not isinstance(s, str) or not s.strip() for s in queue.skills):
            raise ConfigError(f"[{where}] skills: every skill must be a non-empty name")
        if queue.sla_policy and queue.sla_policy not in policies:
            raise ConfigError(f"[{where}] sla_policy: no policy named {queue.sla_policy!r}")
        if queue.calendar and queue.calendar not in settings.calendars:
            raise ConfigError(f"[{where}] calendar: no calendar named {queue.calendar!r}")
        if queue.sla_policy and not queue.calendar:
            raise ConfigError(f"[{where}] calendar: a queue with an SLA policy needs a calendar")

    if queues:
        no_queue("routing", "default_queue", routing.default_queue)
        for channel, name in routing.channel_queues.items():
            no_queue("routing.channel_queues", channel, name)
    for channel in routing.channel_queues:
        if channel not in CHANNELS:
            raise ConfigError(f"[routing.channel_queues] {channel}: unknown channel (use {', '.join(CHANNELS)})")
    for channel, count in routing.default_capacity.items():
        if channel not in CHANNELS:
            raise ConfigError(f"[routing.default_capacity] {channel}: unknown channel (use {', '.join(CHANNELS)})")
        if count < 0:
            raise ConfigError(f"[routing.default_capacity] {channel}: must be 0 or more")
    if routing.assign_interval_seconds <= 0:
        raise ConfigError("[routing] assign_interval_seconds: must be more than 0")

    for index, rule in enumerate(routing.rules):
        _check_rule(f"routing.rules[{index}]", rule, queues)

    for name, policy in policies.items():
        where = f"sla.policies.{name}"
        for key, targets in (("first_response_hours", policy.first_response_hours), ("resolution_hours", policy.resolution_hours)):
            for priority, hours in targets.items():
                if priority not in PRIORITIES:
                    raise ConfigError(f"[{where}] {key}.{priority}: unknown priority (use {', '.join(PRIORITIES)})")
                if hours <= 0:
                    raise ConfigError(f"[{where}] {key}.{priority}: must be more than 0 hours")
        if not 0 < policy.at_risk_ratio < 1:
            raise ConfigError(f"[{where}] at_risk_ratio: must be between 0 and 1, e.g. 0.75")
        if policy.breach_move_to_queue:
            no_queue(where, "breach_move_to_queue", policy.breach_move_to_queue)
    if settings.sla.check_seconds <= 0:
        raise ConfigError("[sla] check_seconds: must be more than 0")


def _check_rule(where: str, rule: RoutingRule, queues: dict) -> None:
    if not rule.name.strip():
        raise ConfigError(f"[{where}] name: a rule needs a name")
    then = rule.then
    if not (then.queue or then.priority or then.type):
        raise ConfigError(f"[{where}] then: the rule {rule.name!r} decides nothing (set queue, priority or type)")
    if then.queue and then.queue not in queues:
        raise ConfigError(f"[{where}] then.queue: no queue named {then.queue!r}")
    if then.priority and then.priority not in PRIORITIES:
        raise ConfigError(f"[{where}] then.priority: {then.priority!r} is not one of {', '.join(PRIORITIES)}")
    if then.type and then.type not in TICKET_TYPES:
        raise ConfigError(f"[{where}] then.type: {then.type!r} is not one of {', '.join(TICKET_TYPES)}")
    for channel in rule.when.channel:
        if channel not in CHANNELS:
            raise ConfigError(f"[{where}] when.channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    for ticket_type in rule.when.type:
        if ticket_type not in TICKET_TYPES:
            raise ConfigError(f"[{where}] when.type: {ticket_type!r} is not one of {', '.join(TICKET_TYPES)}")
