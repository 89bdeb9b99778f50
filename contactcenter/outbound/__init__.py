"""Everything we send: the durable outbox, message templates, consent, delivery reports, bounces."""
