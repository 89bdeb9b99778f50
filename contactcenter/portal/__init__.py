"""The customer portal (`/portal`): a customer follows and answers their own tickets on the web.

No password and no account: the customer types an email address, and when it
is one of a customer's contact points a one-time sign-in link goes to that
address through the outbox (`links.py`). Spending the link (a POST: mail
scanners open every link) starts a portal session held in a cookie
(`visitors.py`). The signed-in customer sees only their own tickets with the
conversation, answers through the one ingest pipeline as a web contact whose
address is *verified* (they proved it with the link), and can close a ticket
(`conversation.py`). The pages are in `routes.py`, the templates in
`templates/pages/portal/`.
"""
