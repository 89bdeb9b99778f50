"""Macros: canned replies an agent inserts and edits before sending.

A macro's body is a small jinja2 template (`Hello {{ customer.name }}`),
rendered in jinja2's sandbox with plain values only, so a macro written by one
agent cannot reach into the hub or run anything. Shared macros have no owner;
personal ones belong to one agent.
"""
