"""Outbound webhooks: other systems (a CRM, billing, a warehouse) hear what happens in the hub.

`enqueue.py` writes one delivery row per subscription per event inside the
transaction that made the change; `worker.py` signs (`signing.py`) and POSTs
them after commit, retried with backoff; `api.py` lets admins subscribe.
"""
