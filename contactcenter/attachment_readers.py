"""Reading a contact's attachments again from the raw input stored beside it.

A mail's attachments are already in the raw mail the hub keeps with the
accepted contact, so they are stored and queued only there
(`InboundContact.attachments_in_raw`) and read from it again when the ingest
writer processes the contact: after a kill -9 the stored record still holds
everything processing needs. The core never parses a channel's wire format
itself (STYLE.md), so each channel that leaves attachments in its raw input
registers the function that reads them back.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Sequence

from contactcenter.contact import Attachment, InboundContact
from contactcenter.settings import Settings

AttachmentReader = Callable[[bytes, Settings], Sequence[Attachment]]

_READERS: dict[str, AttachmentReader] = {}


def register_attachment_reader(channel: str, reader: AttachmentReader) -> None:
    _READERS[channel] = reader


def with_attachments(contact: InboundContact, raw: bytes, settings: Settings) -> InboundContact:
    """The contact with the attachments its raw input holds (pure, CPU-bound: run it in a thread)."""
    if contact.channel not in _READERS:
        importlib.import_module("contactcenter.channels")  # the adapters register their readers when imported
    attachments = tuple(_READERS[contact.channel](raw, settings))
    return dataclasses.replace(contact, attachments=attachments, attachments_in_raw=False)
