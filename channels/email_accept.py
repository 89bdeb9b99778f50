"""From raw mail to a recorded contact: the one entry point every mail source calls.

The SMTP receiver calls `accept_email` for each message it takes, and so will
the IMAP poller: both then answer their side (250 / flag or move the message)
only after it returns.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import tempfile
from typing import IO

from contactcenter.channels.email_parse import AttachmentLimits, ParsedEmail, normalised_address, parse_email
from contactcenter.outbound.bounces import DeliveryFailure, record_delivery_failure
from contactcenter.attachment_readers import register_attachment_reader
from contactcenter.contact import Attachment, ChannelKind, Identity, InboundContact
from contactcenter.db.models import utcnow
from contactcenter.hub import Hub
from contactcenter.inbound import keep_raw
from contactcenter.identity.normalize import mask, normalize_email
from contactcenter.pipeline.run import ContactKeptForReplay, accept, ingest
from contactcenter.settings import Settings

log = logging.getLogger(__name__)

MAX_REFERENCES_KEPT = 20
# Mail is parsed one message at a time, in this one thread. The parser holds
# every line of a part as a small object until the part ends; several large
# messages parsed at once left the interpreter's small-object arenas
# fragmented after a burst (docs/benchmarks.md), and parsing holds the GIL, so
# parsing them side by side was no faster.
PARSER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail-parser")
# Mail up to this size, already in memory, is parsed where it is (on the event
# loop, or the ingest writer's thread): it takes a few hundred microseconds,
# less than handing it to PARSER and back costs, and too few objects to matter
# for the arenas.
INLINE_PARSE_BYTES = 64 * 1024


async def accept_email(
    hub: Hub, raw: bytes | IO[bytes], *, recipients: list[str], source: str, envelope_from: str | None = None
) -> None:
    """Store one raw message (RFC 5322 bytes, or a file holding them) that reached one of our mailboxes.

    `recipients` are the mailbox addresses it was delivered to (SMTP RCPT TO,
    or the IMAP mailbox's address); `source` names the path ("smtp",
    "imap:<mailbox>") for the record; `envelope_from` is the SMTP MAIL FROM
    when known (empty for bounces). A file (the SMTP receiver spools large
    mail to disk) is parsed from where it stands, and read whole only once the
    parse is over, to be stored.

    Returns once the message is durably stored, one way or another: as a
    contact the pipeline processes right after (`pipeline.run.accept`; a
    repeat of a known Message-ID then changes nothing); as a bounce (it marks
    our outbound message failed instead); or, when it cannot be parsed, kept
    raw as an InboundRecord for a person and for replay (a readable sender also
    gets a ticket that says so). The contact is stored without its
    attachments' bytes: the raw mail beside it holds them, and processing
    reads them from it (`attachments_of_raw`).
    Raises contactcenter.errors.TemporaryError when it cannot be stored (the
    database is down): the caller must make the sender retry (SMTP 451, or
    leave the IMAP message unflagged).
    """
    settings = hub.settings
    limits = AttachmentLimits(settings.email.max_attachment_bytes, settings.email.max_attachments)
    try:
        if _small_in_memory(raw):
            parsed = parse_email(raw, limits)
        else:
            parsed = await asyncio.get_running_loop().run_in_executor(PARSER, parse_email, raw, limits)
    except Exception as exc:  # noqa: BLE001 - unreadable mail is kept, never lost
        raw = await _whole(raw)
        log.exception("email %s: could not parse a message of %d bytes; keeping it raw", source, len(raw))
        await _keep_unreadable(hub, raw, recipients, source, envelope_from, repr(exc))
        return
    raw = await _whole(raw)
    if parsed.bounce is not None:
        await _record_bounce(hub, parsed, raw, source)
        return
    contact = build_contact(
        parsed, settings, raw=raw, recipients=recipients, source=source, envelope_from=envelope_from
    ).without_attachments()
    del parsed  # and the attachments it decoded: the raw mail holds them
    await accept(hub, contact, raw=raw)


def _small_in_memory(raw: bytes | IO[bytes]) -> bool:
    if isinstance(raw, bytes):
        return len(raw) <= INLINE_PARSE_BYTES
    if isinstance(raw, tempfile.SpooledTemporaryFile) and not raw._rolled:  # noqa: SLF001 - no public "in memory?"
        at = raw.tell()
        size = raw.seek(0, 2)
        raw.seek(at)
        return size <= INLINE_PARSE_BYTES
    return False


async def _whole(raw: bytes | IO[bytes]) -> bytes:
    """The message's bytes; read in a thread only from disk (a spool still in memory is a copy, not I/O)."""
    if isinstance(raw, bytes):
        return raw
    raw.seek(0)
    if isinstance(raw, tempfile.SpooledTemporaryFile) and not raw._rolled:  # noqa: SLF001 - no public "in memory?"
        return raw.read()
    return await asyncio.to_thread(raw.read)


def attachments_of_raw(raw: bytes, settings: Settings) -> list[Attachment]:
    """The attachments of a stored raw mail, as `accept_email` found them (for the ingest writer, in a thread)."""
    limits = AttachmentLimits(settings.email.max_attachment_bytes, settings.email.max_attachments)
    if len(raw) <= INLINE_PARSE_BYTES:
        return parse_email(raw, limits).attachments
    return PARSER.submit(parse_email, raw, limits).result().attachments


register_attachment_reader(ChannelKind.EMAIL, attachments_of_raw)


def build_contact(
    parsed: ParsedEmail, settings: Settings, *, raw: bytes, recipients: list[str], source: str, envelope_from: str | None
) -> InboundContact:
    """The InboundContact of a parsed message (pure)."""
    ours = our_addresses(settings)
    sender = parsed.from_address or normalize_email(envelope_from or "")
    identities = (Identity(kind="email", value=sender, evidence="claimed", is_reply_address=True),) if sender else ()
    mailbox = next((r for r in (normalised_address(x) or x.lower() for x in recipients) if r in ours), recipients[0] if recipients else "")
    participants = sorted({a for a in [sender or "", *parsed.to, *parsed.cc] if a and a not in ours})
    hints = [*parsed.in_reply_to, *reversed(parsed.references), *parsed.ticket_references]
    return InboundContact(
        channel=ChannelKind.EMAIL,
        provider_id=parsed.message_id or synthetic_message_id(raw),
        identities=identities,
        received_at=utcnow(),
        display_name=parsed.from_name,
        subject=parsed.subject,
        text=parsed.new_text,
        html=parsed.html,
        thread_hints=tuple(dict.fromkeys(hints)),
        is_automated=bool(parsed.automated_reason),
        attachments=tuple(parsed.attachments),
        source_address=mailbox,
        metadata={
            "message_id": parsed.message_id,
            "from": sender or "",
            "to": parsed.to,
            "cc": parsed.cc,
            "reply_to_header": parsed.reply_to,
            "participants": participants,
            "envelope_recipients": list(recipients),
            "in_reply_to": parsed.in_reply_to,
            "references": parsed.references[-MAX_REFERENCES_KEPT:],
            "signature": parsed.signature,
            "quoted_text": parsed.quoted,
            "body_type": parsed.body_type,
            "automated_reason": parsed.automated_reason,
            "dropped_attachments": parsed.dropped_attachments,
            "defects": parsed.defects[:20],
            "date": parsed.date.isoformat() if parsed.date else None,
            "source": source,
        },
    )


def our_addresses(settings: Settings) -> set[str]:
    return {a.lower() for a in settings.email.addresses} | {settings.email.from_address.lower()}


def synthetic_message_id(raw: bytes) -> str:
    """Mail without a Message-ID still needs a dedupe key; the same bytes twice are one message."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid>"


async def _record_bounce(hub: Hub, parsed: ParsedEmail, raw: bytes, source: str) -> None:
    assert parsed.bounce is not None
    bounce = parsed.bounce
    marked = await record_delivery_failure(
        hub,
        DeliveryFailure(
            channel=ChannelKind.EMAIL,
            provider_ids=bounce.original_message_ids,
            recipient=bounce.recipient,
            status=bounce.status,
            reason=bounce.reason,
            permanent=bounce.failed,
        ),
    )
    if not marked:
        # Backscatter or a bounce for mail we never sent: kept, but nobody's work.
        await keep_raw(
            hub,
            channel=ChannelKind.EMAIL,
            provider_id=parsed.message_id,
            raw=raw,
            status="ignored",
            error="bounce for a message we did not send",
        )
    log.info("email %s: bounce %s for %s", source, bounce.status or "-", mask(bounce.recipient) if bounce.recipient else "-")


async def _keep_unreadable(
    hub: Hub, raw: bytes, recipients: list[str], source: str, envelope_from: str | None, error: str
) -> None:
    record_id = await keep_raw(
        hub, channel=ChannelKind.EMAIL, provider_id=synthetic_message_id(raw), raw=raw, status="failed", error=f"unreadable email: {error}"
    )
    sender = normalize_email(envelope_from or "")
    if sender is None:
        return
    # A ticket tells an agent someone wrote and what became of it.
    contact = InboundContact(
        channel=ChannelKind.EMAIL,
        provider_id=synthetic_message_id(raw),
        identities=(Identity(kind="email", value=sender, evidence="claimed", is_reply_address=True),),
        received_at=utcnow(),
        subject="Unreadable email",
        text=f"An email from this sender could not be read ({error[:300]}). "
        f"The original is kept as inbound record {record_id}.",
        is_automated=True,
        source_address=recipients[0] if recipients else "",
        metadata={"unreadable": True, "inbound_record_id": record_id, "source": source},
    )
    try:
        await ingest(hub, contact)
    except ContactKeptForReplay:
        pass
