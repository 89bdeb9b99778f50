"""The OpenAPI 3.1 description of the HTTP API, served at GET /api/v1/openapi.json.

Written by hand next to the handlers rather than generated from them: the
handlers read JSON themselves, so there is nothing to introspect, and a
description people read should say what each answer means. Integrators
generate clients from it; the fuzz test (tests/test_fuzz_api.py) drives every
operation it names against a real hub and checks the answers against it, and
tests/test_openapi.py checks that every `/api/` route the app serves is here.
The served document lists only the operations whose routes the app serves;
the identity and routing operations (`_CONTRACT_PATHS`) are described loosely
so far, and deserve exact response schemas from their owners.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contactcenter.keys import HUB

JSON = "application/json"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

# Answers every authenticated operation can give.
_AUTH_ERRORS = {
    "401": _error("no token, or a token that is not valid"),
    "403": _error("the token's role is too low for this operation"),
    "503": _error("the database is unavailable for a moment; try again (see Retry-After)"),
}

_PAGE_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "description": "items per page (1 to 500; larger values are capped)",
        "schema": {"type": "integer", "minimum": 0, "maximum": 999999999999999999, "default": 50},
    },
    {
        "name": "after_id",
        "in": "query",
        "description": "only items with a larger id: the `next` link carries it",
        "schema": {"type": "integer", "minimum": 0, "maximum": 999999999999999999, "default": 0},
    },
]

_ID = {"type": "integer", "minimum": 0, "maximum": 999999999999999999}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "stable, machine-readable, e.g. invalid_input"},
                    "message": {"type": "string", "description": "for people"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "field name -> what is wrong with it",
                    },
                },
            }
        },
    },
    "ContactPoint": {
        "type": "object",
        "required": ["id", "kind", "value", "evidence", "verified", "opted_out"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"enum": ["email", "phone"]},
            "value": {"type": "string", "description": "normalised: lower-case address or E.164 number"},
            "evidence": {"enum": ["verified", "claimed", "imported"]},
            "verified": {"type": "boolean"},
            "opted_out": {"type": "boolean"},
        },
    },
    "Customer": {
        "type": "object",
        "required": ["id", "name", "contact_points", "merged_into_id", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "company": {"type": "string"},
            "tier": {"type": "string"},
            "segments": {"type": "array"},
            "lifetime_value": {"type": "number"},
            "external_id": {"type": ["string", "null"]},
            "merged_into_id": {"type": ["integer", "null"]},
            "language": {"type": "string", "description": "BCP 47 (en, zh-CN); empty until known"},
            "contact_points": {"type": "array", "items": _ref("ContactPoint")},
            "created_at": _NULLABLE_TIME,
        },
    },
    "Attachment": {
        "type": "object",
        "required": ["id", "filename", "content_type", "size", "sha256", "inline"],
        "properties": {
            "id": {"type": "integer"},
            "filename": {"type": "string"},
            "content_type": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
            "inline": {"type": "boolean"},
        },
    },
    "Interaction": {
        "type": "object",
        "required": ["id", "ticket_id", "customer_id", "channel", "direction", "text", "attachments", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "ticket_id": {"type": ["integer", "null"]},
            "customer_id": {"type": ["integer", "null"]},
            "channel": {"type": "string", "description": "web, api, email, sms or voice"},
            "direction": {"enum": ["inbound", "outbound", "internal"]},
            "provider_id": {"type": ["string", "null"]},
            "author_agent_id": {"type": ["integer", "null"]},
            "subject": {"type": "string"},
            "text": {"type": "string"},
            "html": {"type": "string", "description": "sanitised"},
            "matched_by": {"type": "string"},
            "match_evidence": {"type": "string"},
            "match_is_claimed": {
                "type": "boolean",
                "description": "the customer match rests only on what someone typed",
            },
            "delivery_status": {"type": "string"},
            "metadata": {"type": "object"},
            "attachments": {"type": "array", "items": _ref("Attachment")},
            "created_at": _NULLABLE_TIME,
        },
    },
    "Ticket": {
        "type": "object",
        "required": ["id", "reference", "customer_id", "subject", "type", "status", "priority", "channel"],
        "properties": {
            "id": {"type": "integer"},
            "reference": {"type": "string", "pattern": "^CC-[0-9]{6,}$"},
            "customer_id": {"type": "integer"},
            "subject": {"type": "string"},
            "type": {"type": "string"},
            "status": {"enum": ["new", "open", "pending", "resolved", "closed"]},
            "priority": {"type": "integer", "description": "1 low, 2 normal, 3 high, 4 urgent"},
            "queue_id": {"type": ["integer", "null"]},
            "queue": {"type": ["string", "null"]},
            "assignee_id": {"type": ["integer", "null"]},
            "channel": {"type": "string"},
            "parent_id": {"type": ["integer", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "resolution": {"type": "string", "description": "what was done about it"},
            "sla_state": {"type": "string"},
            "first_response_due_at": _NULLABLE_TIME,
            "resolution_due_at": _NULLABLE_TIME,
            "first_responded_at": _NULLABLE_TIME,
            "created_at": _NULLABLE_TIME,
            "updated_at": _NULLABLE_TIME,
            "last_activity_at": _NULLABLE_TIME,
            "tags": {"type": "array", "items": {"type": "string"}},
            "resolution": {"type": "string", "description": "what was done; a complaint is resolved only with one"},
            "reopened_count": {"type": "integer", "description": "times the customer wrote back after it was resolved"},
            "resolved_at": _NULLABLE_TIME,
            "csat": {
                "type": "object",
                "description": "the customer's answer to the satisfaction survey, once answered",
                "properties": {
                    "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                    "comment": {"type": "string"},
                    "channel": {"type": "string", "description": "how the survey went: email or sms"},
                    "answered_at": _NULLABLE_TIME,
                },
            },
        },
    },
    "TicketWithInteractions": {
        "allOf": [
            _ref("Ticket"),
            {
                "type": "object",
                "required": ["interactions"],
                "properties": {"interactions": {"type": "array", "items": _ref("Interaction")}},
            },
        ]
    },
    "ContactIn": {
        "type": "object",
        "description": "A contact from another system. At least one of email and phone is required; "
        "identifiers in it count as claimed. `external_id` is the idempotency key.",
        "required": ["message"],
        "anyOf": [{"required": ["email"]}, {"required": ["phone"]}],
        "properties": {
            "channel": {"enum": ["api", "web"], "default": "api"},
            "external_id": {"type": "string", "maxLength": 200},
            "name": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "phone": {"type": "string", "description": "any written form; read in [identity] default_region"},
            "subject": {"type": "string"},
            "message": {"type": "string", "minLength": 1},
            "type": {"enum": ["question", "request", "complaint"], "default": "question"},
            "language": {"type": "string", "maxLength": 20, "pattern": "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$", "description": "BCP 47, e.g. zh-CN: what we send the customer is written in it"},
            "customer": {
                "type": "object",
                "properties": {
                    "tier": {"type": "string", "maxLength": 20},
                    "external_id": {"type": "string", "maxLength": 200},
                    "segments": {"type": "array", "items": {"type": "string", "maxLength": 100}},
                },
            },
        },
    },
    "ContactResult": {
        "type": "object",
        "required": ["customer_id", "ticket_id", "reference", "interaction_id", "duplicate"],
        "properties": {
            "customer_id": {"type": "integer"},
            "ticket_id": {"type": ["integer", "null"]},
            "reference": {"type": "string"},
            "interaction_id": {"type": "integer"},
            "duplicate": {"type": "boolean", "description": "true when this external_id was seen before"},
        },
    },
    "ContactKept": {
        "type": "object",
        "required": ["status", "inbound_record_id"],
        "properties": {
            "status": {"const": "kept_for_review"},
            "inbound_record_id": {"type": "integer"},
        },
    },
    "ReplyIn": {
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string", "minLength": 1}},
    },
    "Reply": {
        "allOf": [
            _ref("Interaction"),
            {
                "type": "object",
                "required": ["outbox_id", "ticket_reference"],
                "properties": {"outbox_id": {"type": "integer"}, "ticket_reference": {"type": "string"}},
            },
        ]
    },
}


def _page_of(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "next": {"type": ["string", "null"], "description": "the next page, or null on the last"},
        },
    }


def _contract_operation(operation_id: str, summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An operation another room owns, described loosely (any JSON object on
    success, the contract's error shape otherwise) until its handler's answers
    are written down here exactly."""
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "responses": {
            "2XX": _json({"type": "object"}, "done"),
            "4XX": _error("refused; the message says why"),
            "503": _error("the database is unavailable for a moment; try again (see Retry-After)"),
        },
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    return operation


_ID_PARAMETER = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
_AGENT_FIELDS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "email": {"type": "string"},
        "name": {"type": "string"},
        "role": {"enum": ["agent", "supervisor", "admin"]},
        "phone": {"type": "string", "description": "E.164, e.g. +14155550100; empty for none"},
        "skills": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 5}},
        "capacity": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "language": {"type": "string"},
        "timezone": {"type": "string"},
        "active": {"type": "boolean"},
        "password": {"type": "string", "minLength": 8},
    },
}

_PATHS: dict[str, Any] = {
    "/healthz": {
        "get": {
            "operationId": "health",
            "summary": "Is the hub up and its database answering?",
            "security": [],
            "responses": {
                "200": _json(
                    {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
                    "ready: the database answers, its schema is current, the ingest writer runs",
                ),
                "503": _json(
                    {
                        "type": "object",
                        "required": ["status", "checks"],
                        "properties": {
                            "status": {"const": "unavailable"},
                            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
                        },
                    },
                    "not ready; each check says ok or what is wrong",
                ),
            },
        }
    },
    "/healthz/live": {
        "get": {
            "operationId": "liveness",
            "summary": "Does the process answer at all?",
            "security": [],
            "responses": {
                "200": _json({"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}, "alive")
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This description",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document")},
        }
    },
    "/api/v1/contacts": {
        "post": {
            "operationId": "createContact",
            "summary": "Hand in a contact from another system (needs the intake role)",
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("ContactIn")}}},
            "responses": {
                "201": _json(_ref("ContactResult"), "recorded: a new interaction"),
                "200": _json(_ref("ContactResult"), "this external_id was recorded before; nothing changed"),
                "202": _json(_ref("ContactKept"), "stored raw, but processing failed: kept for a person to replay"),
                "400": _error("the body or a field is not acceptable; `fields` says which"),
                "413": _error("the body is larger than [http] max_body_bytes"),
                "415": _error("the body is not application/json"),
                **_AUTH_ERRORS,
            },
        }
    },
    "/api/v1/customers": {
        "get": {
            "operationId": "searchCustomers",
            "summary": "Search customers by address, number or text",
            "parameters": [
                {"name": "email", "in": "query", "schema": {"type": "string"}, "description": "any written form"},
                {"name": "phone", "in": "query", "schema": {"type": "string"}, "description": "any written form"},
                {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "part of a name, company or identifier"},
                *_PAGE_PARAMETERS,
            ],
            "responses": {
                "200": _json(_page_of("Customer"), "matching customers, by id"),
                "400": _error("a parameter is not acceptable"),
                **_AUTH_ERRORS,
            },
        }
    },
    "/api/v1/customers/{id}": {
        "patch": {
            **_contract_operation("updateCustomer", "Change a customer's details", {"type": "object"}),
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": _ID}],
        },
        "get": {
            "operationId": "getCustomer",
            "summary": "One customer with its contact points",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": _ID}],
            "responses": {
                "200": _json(_ref("Customer"), "the customer"),
                "404": _error("no such customer"),
                **_AUTH_ERRORS,
            },
        }
    },
    "/api/v1/customers/{id}/interactions": {
        "get": {
            "operationId": "getCustomerTimeline",
            "summary": "The customer's whole timeline across channels, oldest first",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": _ID}, *_PAGE_PARAMETERS],
            "responses": {
                "200": _json(_page_of("Interaction"), "interactions, oldest first"),
                "400": _error("a parameter is not acceptable"),
                "404": _error("no such customer"),
                **_AUTH_ERRORS,
            },
        }
    },
    "/api/v1/tickets": {
        "get": {
            "operationId": "listTickets",
            "summary": "List tickets",
            "parameters": [
                {"name": "customer_id", "in": "query", "schema": _ID},
                {
                    "name": "status",
                    "in": "query",
                    "description": "one status or several separated by commas",
                    "schema": {"type": "string", "pattern": "^(new|open|pending|resolved|closed)(,(new|open|pending|resolved|closed))*$"},
                },
                {"name": "queue", "in": "query", "description": "queue name or id", "schema": {"type": "string"}},
                *_PAGE_PARAMETERS,
            ],
            "responses": {
                "200": _json(_page_of("Ticket"), "tickets, by id"),
                "400": _error("a parameter is not acceptable"),
                **_AUTH_ERRORS,
            },
        }
    },
    "/api/v1/tickets/{id}": {
        "get": {
            "operationId": "getTicket",
            "summary": "One ticket with its interactions",
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "description": "the numeric id or the reference (CC-000123)",
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                "200": _json(_ref("TicketWithInteractions"), "the ticket"),
                "404": _error("no such ticket"),
                **_AUTH_ERRORS,
            },
        },
        "patch": {
            "operationId": "updateTicket",
            "summary": "Change status, priority, type, queue, assignee, tags or resolution; every change audited",
            "parameters": [{"name": "id", "in": "path", "required": True, "description": "the numeric id or the reference (CC-000123)", "schema": {"type": "string"}}],
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "status": {"enum": ["new", "open", "pending", "resolved", "closed"]},
                                "priority": {"enum": [1, 2, 3, 4]},
                                "type": {"enum": ["question", "request", "complaint", "incident", "callback"]},
                                "queue": {"type": ["string", "integer"]},
                                "assignee_id": {"type": ["integer", "null"]},
                                "tags": {"type": "array", "items": {"type": "string"}},
                                "resolution": {"type": "string"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _json(_ref("Ticket"), "the ticket as it is now"),
                "400": _error("a field is not acceptable; `fields` says which"),
                "404": _error("no such ticket"),
                "409": _error("the ticket is closed and cannot be moved; reopen it first"),
                "413": _error("the body is larger than [http] max_body_bytes"),
                "415": _error("the body is not application/json"),
                "422": _error("a complaint needs a `resolution` to become resolved or closed (code resolution_required)"),
                **_AUTH_ERRORS,
            },
        },
    },
    "/api/v1/search": {
        "get": {
            "operationId": "search",
            "summary": "Customers by name, email or phone (any written form) and tickets by words in subject and messages",
            "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}, "description": "what a person typed"}],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["customers", "tickets"],
                        "properties": {"customers": {"type": "array", "items": {"type": "object"}}, "tickets": {"type": "array", "items": _ref("Ticket")}},
                    },
                    "at most 20 of each, tickets by latest activity",
                ),
                "400": _error("the query holds characters no text has"),
                **_AUTH_ERRORS,
            },
        }
    },
    "/api/v1/tickets/{id}/replies": {
        "post": {
            "operationId": "replyToTicket",
            "summary": "Answer the customer through the ticket's channel (queued in the outbox)",
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "description": "the numeric id or the reference (CC-000123)",
                    "schema": {"type": "string"},
                }
            ],
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("ReplyIn")}}},
            "responses": {
                "201": _json(_ref("Reply"), "the reply is recorded and queued for sending"),
                "400": _error("the body is not acceptable"),
                "404": _error("no such ticket"),
                "413": _error("the body is larger than [http] max_body_bytes"),
                "415": _error("the body is not application/json"),
                **_AUTH_ERRORS,
            },
        }
    },
}


# Operations other rooms own (identity, routing), described loosely; the
# served document lists an operation only when the hub serves its route.
_CONTRACT_PATHS: dict[str, Any] = {
    "/api/v1/customers/{id}/merge": {
        "parameters": _ID_PARAMETER,
        "post": _contract_operation(
            "mergeCustomer",
            "Merge another customer record into this one",
            {"type": "object", "required": ["from_customer_id"], "properties": {"from_customer_id": {"type": "integer"}}},
        ),
    },
    "/api/v1/merge-suggestions": {"get": _contract_operation("listMergeSuggestions", "Open merge suggestions")},
    "/api/v1/merge-suggestions/{id}/dismiss": {
        "parameters": _ID_PARAMETER,
        "post": _contract_operation("dismissMergeSuggestion", "Dismiss a merge suggestion"),
    },
    "/api/v1/merges/{id}": {"parameters": _ID_PARAMETER, "get": _contract_operation("getMerge", "One merge record")},
    "/api/v1/merges/{id}/undo": {
        "parameters": _ID_PARAMETER,
        "post": _contract_operation("undoMerge", "Undo a merge"),
    },
    "/api/v1/customers/{id}/export": {
        "parameters": _ID_PARAMETER,
        "get": _contract_operation("exportCustomer", "Everything held on a customer and the records merged with it (admin)"),
    },
    "/api/v1/customers/{id}/erase": {
        "parameters": _ID_PARAMETER,
        "post": _contract_operation(
            "eraseCustomer",
            "Erase a customer and the records merged with it; the figures stay (admin)",
            {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}}},
        ),
    },
    "/api/v1/customers/{id}/contact-points": {
        "parameters": _ID_PARAMETER,
        "post": _contract_operation("addContactPoint", "Add an email address or phone number to a customer", {"type": "object"}),
    },
    "/api/v1/queues": {"get": _contract_operation("listQueues", "Queues with waiting counts, oldest wait, SLA at risk")},
    "/api/v1/agents": {
        "get": _contract_operation("listAgents", "Agents with presence and load"),
        "post": _contract_operation("createAgent", "Add a person (admin)", {**_AGENT_FIELDS, "required": ["email", "name"]}),
    },
    "/api/v1/agents/{id}/presence": {
        "parameters": _ID_PARAMETER,
        "put": _contract_operation(
            "setAgentPresence",
            "Set an agent's presence",
            {
                "type": "object",
                "required": ["presence"],
                "properties": {"presence": {"enum": ["available", "busy", "away", "offline"]}},
            },
        ),
    },
    "/api/v1/agents/{id}/voice-token": {
        "parameters": _ID_PARAMETER,
        "get": _contract_operation(
            "getVoiceToken",
            "A Twilio Access Token (VoiceGrant, one hour) for that agent's browser softphone: "
            '{"identity": "agent-<id>", "token": "<JWT>", "ttl_seconds": 3600}; the agent themself (session or token) or an admin',
        ),
    },
    "/api/v1/agents/{id}": {
        "parameters": _ID_PARAMETER,
        "get": _contract_operation("getAgent", "One person with their fields, presence and load (admin)"),
        "patch": _contract_operation("updateAgent", "Change a person's fields; deactivating hands back their tickets (admin)", _AGENT_FIELDS),
    },
    "/api/v1/webhooks": {
        "get": _contract_operation("listWebhooks", "Webhook subscriptions with their status (admin)"),
        "post": _contract_operation(
            "createWebhook",
            "Subscribe a URL to events; the answer holds the signing secret (admin)",
            {"type": "object", "required": ["url", "events"], "properties": {
                "url": {"type": "string", "format": "uri"},
                "events": {"type": "array", "items": {"enum": ["ticket.created", "interaction.created", "ticket.updated", "sla.breached", "csat.answered"]}},
            }},
        ),
    },
    "/api/v1/webhooks/{id}": {"parameters": _ID_PARAMETER, "delete": _contract_operation("deleteWebhook", "Remove a subscription and its deliveries (admin)")},
    "/api/v1/webhooks/{id}/resume": {"parameters": _ID_PARAMETER, "post": _contract_operation("resumeWebhook", "Resume a paused subscription (admin)")},
    "/api/v1/webhooks/{id}/deliveries": {
        "parameters": _ID_PARAMETER,
        "get": _contract_operation("listWebhookDeliveries", "Every delivery attempt: time, event, status code, error, duration (admin)"),
    },
    "/api/v1/audit": {"get": _contract_operation("listAudit", "Audit events, newest first, filtered by entity, entity_id, actor, from, to (admin)")},
    "/api/v1/reports/summary": {"get": _contract_operation("reportSummary", "Report figures for a date range (supervisor); &format=csv for CSV")},
    "/api/v1/tickets/{id}/transfer": {
        "parameters": _ID_PARAMETER,
        "post": _contract_operation(
            "transferTicket",
            "Move a ticket to a queue or an agent",
            {"type": "object", "properties": {"queue": {"type": "string"}, "agent_id": {"type": "integer"}}},
        ),
    },
}


def openapi_document(public_url: str, served: set[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The document; with `served` ((path, method) pairs), only operations the hub serves."""
    paths = {**_CONTRACT_PATHS, **_PATHS}
    if served is not None:
        paths = {
            path: {key: value for key, value in item.items() if key == "parameters" or (path, key) in served}
            for path, item in paths.items()
        }
        paths = {path: item for path, item in paths.items() if set(item) - {"parameters"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "contactcenter",
            "version": "1",
            "description": "The hub's JSON API: contact intake from other systems, customers, "
            "tickets and their timelines. Errors are `{\"error\": {\"code\", \"message\"}}` with a 4xx "
            "status, or 503 with Retry-After when the database is briefly unavailable.",
        },
        "servers": [{"url": public_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API token from `contactcenter create-token`",
                }
            },
        },
    }


def served_operations(app: web.Application) -> set[tuple[str, str]]:
    """(path, method) of every route the app serves, in OpenAPI's spelling."""
    return {
        (route.resource.canonical, route.method.lower())
        for route in app.router.routes()
        if route.resource is not None and route.method not in ("HEAD", "*")
    }


async def handle_openapi(request: web.Request) -> web.Response:
    """Unauthenticated on purpose: it describes the API, it holds no data."""
    return web.json_response(openapi_document(request.app[HUB].settings.http.public_url, served_operations(request.app)))
