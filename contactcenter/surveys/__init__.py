"""Customer satisfaction (CSAT) surveys: one short question after a ticket is resolved.

`schedule` decides and sends them (`[csat] delay_minutes` after resolution, at
most one per ticket and one per customer in `per_customer_days`); `answers`
records what comes back, from the survey page (`GET/POST /survey/{token}`,
`web.py`) or as an SMS reply "1".."5" on the ticket it asks about; `summary`
is the figures reports show.
"""
