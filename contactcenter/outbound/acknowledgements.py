"""Who may get an acknowledgement, and how many: the rules that keep the hub from mailing strangers.

Pure decisions, no I/O; `pipeline/acknowledge.py` reads the counts they need
and queues what they choose.

Anyone can type anyone's address or number into the public form. So:
- a *typed* (claimed) identifier gets at most an email acknowledgement, at most
  `[tickets] claimed_acknowledgements_per_hour` per address and
  `[tickets] acknowledgements_per_client_per_hour` per client address (the
  form's sender), and with `[tickets] confirm_claimed_addresses` only a
  fixed-text "did you write to us?" mail carrying none of the sender's words;
- an SMS acknowledgement goes only to a number that wrote to us itself (Twilio
  vouches for the From of an inbound SMS: evidence `verified`), and only in the
  countries of `[tickets] sms_acknowledgement_countries` (Twilio's advice
  against SMS pumping: send only where you have customers);
- everything else keeps the per-address cap `[tickets] acknowledgements_per_hour`
  that stops two auto-responders mailing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from contactcenter.i18n import gettext

from contactcenter.contact import ChannelKind, Identity, InboundContact
from contactcenter.identity.decisions import TYPED_CHANNELS
from contactcenter.identity.normalize import phone_region
from contactcenter.settings import TicketSettings

# Channels whose contacts get a written acknowledgement (voice callers hear theirs).
ACKNOWLEDGED_CHANNELS = (ChannelKind.WEB, ChannelKind.API, ChannelKind.EMAIL, ChannelKind.SMS)


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """What to send: the template and the address, within `per_hour` to that address."""

    template: str  # acknowledgement | acknowledgement_sms | address_confirmation
    kind: str  # email | phone
    to: str
    per_hour: int  # at most this many acknowledgements to `to` in an hour
    client: str = ""  # the form's sender, limited to `per_client_hour` acknowledgements
    per_client_hour: int = 0

    @property
    def confirms(self) -> bool:
        """The fixed-text mail asking to confirm a typed address (it carries a signed link)."""
        return self.template == "address_confirmation"

    @property
    def subject(self) -> str | None:
        """A fixed subject for the confirmation (none of the sender's words), in the reader's language; None: the ticket's."""
        return gettext("Please confirm your email address") if self.confirms else None


def is_typed(contact: InboundContact, identity: Identity) -> bool:
    """Whether the identifier was typed by whoever sent the contact, not vouched for by a provider."""
    return contact.channel in TYPED_CHANNELS and identity.evidence != "verified"


def choose_acknowledgement(
    contact: InboundContact, settings: TicketSettings, *, ticket_created: bool, address_confirmed: bool = False
) -> Acknowledgement | None:
    """The acknowledgement this contact may get before counting what was sent already; None for none.

    `address_confirmed`: the typed address was confirmed by a click in an
    earlier confirmation mail (its contact point is verified).
    """
    if not (settings.auto_acknowledge and ticket_created) or contact.is_automated:
        return None
    reply = contact.reply_identity()
    if contact.channel not in ACKNOWLEDGED_CHANNELS or reply is None:
        return None
    if reply.kind == "phone":
        return _sms_acknowledgement(contact, reply, settings)
    if not is_typed(contact, reply):
        return Acknowledgement("acknowledgement", "email", reply.value, settings.acknowledgements_per_hour)
    template = "acknowledgement"
    if settings.confirm_claimed_addresses and not address_confirmed:
        template = "address_confirmation"
    return Acknowledgement(
        template,
        "email",
        reply.value,
        min(settings.claimed_acknowledgements_per_hour, settings.acknowledgements_per_hour),
        client=str(contact.metadata.get("client_address", "")),
        per_client_hour=settings.acknowledgements_per_client_per_hour,
    )


def _sms_acknowledgement(contact: InboundContact, reply: Identity, settings: TicketSettings) -> Acknowledgement | None:
    if contact.channel != ChannelKind.SMS or reply.evidence != "verified":
        return None  # a typed number never gets an SMS: that is the pumping attack
    if phone_region(reply.value) not in {c.upper() for c in settings.sms_acknowledgement_countries}:
        return None
    return Acknowledgement("acknowledgement_sms", "phone", reply.value, settings.acknowledgements_per_hour)


def is_within_limits(ack: Acknowledgement, sent_to_address: int, sent_for_client: int) -> bool:
    """Whether one more fits the hour's caps (counts of acknowledgements sent in the last hour)."""
    if sent_to_address >= ack.per_hour:
        return False
    return not (ack.client and sent_for_client >= ack.per_client_hour)
