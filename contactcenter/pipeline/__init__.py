"""The one ingest pipeline every channel feeds (DESIGN.md §1).

Each step is an async function taking a round of the batch, a list of
`IngestContext`s that cannot see each other's writes (`rounds.py`), and does
its work for all of them at once where that saves statements. `run.run_batch`
calls them in this order, round after round, inside one database transaction.
"""

from contactcenter.pipeline.acknowledge import acknowledge
from contactcenter.pipeline.consent import record_consent
from contactcenter.pipeline.dedupe import dedupe
from contactcenter.pipeline.identify import identify_customer
from contactcenter.pipeline.log import log_interaction
from contactcenter.pipeline.route import route_ticket
from contactcenter.pipeline.thread import thread_into_ticket

INGEST_STEPS = (
    # First, so a provider's retry costs one indexed lookup and changes nothing.
    dedupe,
    # Threading needs the customer: a ticket reference only counts when the
    # sender belongs to that ticket.
    identify_customer,
    # Right after the sender's number is known, so that a STOP is on record
    # before anything later in this transaction could queue an SMS to it.
    record_consent,
    thread_into_ticket,
    # Routing only decides for new tickets; follow-ups stay where they are.
    route_ticket,
    log_interaction,
    # Last, so the acknowledgement can name the ticket and answer the
    # interaction it follows.
    acknowledge,
)
