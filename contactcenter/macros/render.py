"""Rendering a macro's body safely: jinja2's sandbox, plain values, a size cap."""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from contactcenter.errors import InputError

MAX_BODY_CHARS = 5000
MAX_OUTPUT_CHARS = 10_000
# The output is plain text for a textarea (the page escapes it), so no HTML escaping here.
_environment = SandboxedEnvironment(autoescape=False, undefined=jinja2.Undefined, trim_blocks=True)

# Only values and a few filters: no loops, no arithmetic, no calls. The sandbox
# stops attribute tricks but not `{{ "x" * 10**9 }}`; this allow-list stops both.
ALLOWED_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Const, nodes.Filter)
ALLOWED_NAMES = frozenset({"customer", "ticket", "agent"})
ALLOWED_FILTERS = frozenset({"default", "upper", "lower", "title", "capitalize", "trim"})
VARIABLES = ("customer.name", "customer.first_name", "customer.tier", "ticket.reference", "ticket.subject", "agent.name")


@dataclass(frozen=True, slots=True)
class MacroValues:
    """Everything a macro may mention; dictionaries of strings, nothing with methods worth calling."""

    customer_name: str
    customer_tier: str
    ticket_reference: str
    ticket_subject: str
    agent_name: str

    def context(self) -> dict[str, dict[str, str]]:
        return {
            "customer": {"name": self.customer_name, "first_name": self.customer_name.split(" ")[0], "tier": self.customer_tier},
            "ticket": {"reference": self.ticket_reference, "subject": self.ticket_subject},
            "agent": {"name": self.agent_name},
        }


def check_macro_body(body: str) -> str:
    """The body, trimmed, when it is a template we can render; InputError otherwise."""
    body = body.strip()
    if not body or len(body) > MAX_BODY_CHARS:
        raise InputError(f"a macro has 1 to {MAX_BODY_CHARS} characters", fields={"body": "empty or too long"})
    try:
        tree = _environment.parse(body)
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(f"the macro's template has an error on line {exc.lineno}: {exc.message}", fields={"body": "template error"}) from None
    for node in tree.find_all(nodes.Node):
        if (
            not isinstance(node, ALLOWED_NODES)
            or (isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS)
            or (isinstance(node, nodes.Name) and node.name not in ALLOWED_NAMES)
        ):
            raise InputError(
                "a macro may only fill in values such as {{ customer.name }}, optionally with a filter like | title",
                fields={"body": "only {{ value }} is allowed"},
            )
    return body


def render_macro(body: str, values: MacroValues) -> str:
    """The filled-in text; the body is checked again, so a macro stored before a rule change is safe too."""
    body = check_macro_body(body)
    try:
        text = _environment.from_string(body).render(values.context())
    except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        # SecurityError (the sandbox said no) is a TemplateError too.
        raise InputError(f"the macro could not be filled in: {exc.__class__.__name__}", fields={"body": "template error"}) from None
    return text[:MAX_OUTPUT_CHARS]
