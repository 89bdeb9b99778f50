"""Realistic traffic for the load generator: customers, mail, SMS, calls, forms.

A fixed pool of customers (each with an address and a number) writes in again
and again, as real ones do; the reference run of the issue used 2 000 messages
from about 430 senders, 10% of them replies. Mail comes as plain text,
multipart/alternative, or with an attachment, and replies carry RFC 5322
threading headers pointing at the customer's earlier message.
"""

from __future__ import annotations

import itertools
import random
import secrets
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import UTC, datetime

FIRST = ["Alice", "Bob", "Carol", "Dan", "Erin", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars", "Maya", "Nils", "Olu", "Priya"]
LAST = ["Andersen", "Baker", "Chen", "Diaz", "Eze", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura"]
TOPICS = [
    ("Where is my order {n}?", "I ordered on Monday and the tracking page still says 'label created'. Order number {n}."),
    ("Refund for order {n}", "The jacket I received is the wrong size. I would like a refund rather than an exchange, please."),
    ("Cannot log in", "Since yesterday the app says my password is wrong, but the reset mail never arrives."),
    ("Invoice {n} looks wrong", "We were charged twice for the March subscription. Could you check invoice {n}?"),
    ("Question about delivery", "Do you deliver to Norway, and if so how long does it usually take?"),
    ("Broken zip", "The zip on the bag broke after two weeks. Is this covered by the warranty?"),
]


@dataclass
class Customer:
    name: str
    email: str
    phone: str
    sent_message_ids: list[str] = field(default_factory=list)


def customer_pool(size: int, seed: int = 7) -> list[Customer]:
    rng = random.Random(seed)
    pool = []
    for i in range(size):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        # 555-01xx numbers are reserved for fiction (NANP); spread over area codes.
        phone = f"+1{rng.choice(['415', '212', '617', '312', '206'])}55501{i % 100:02d}"
        pool.append(Customer(f"{first} {last}", f"{first}.{last}.{i}@customers.example.com".lower(), phone))
    # Phones repeat every 100 customers per area code; keep them unique.
    seen: set[str] = set()
    for i, customer in enumerate(pool):
        while customer.phone in seen:
            customer.phone = f"+1{rng.choice(['202', '303', '404', '503', '702', '808'])}{rng.randint(2000000, 9999999)}"
        seen.add(customer.phone)
    return pool


class Traffic:
    """Draws the next contact of each kind; deterministic for a given seed."""

    def __init__(self, customers: int = 430, seed: int = 7, reply_share: float = 0.10):
        self.rng = random.Random(seed)
        self.customers = customer_pool(customers, seed)
        self.reply_share = reply_share
        self.counter = itertools.count(1)

    def customer(self) -> Customer:
        return self.rng.choice(self.customers)

    def topic(self) -> tuple[str, str]:
        subject, body = self.rng.choice(TOPICS)
        n = self.rng.randint(10000, 99999)
        return subject.format(n=n), body.format(n=n)

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}{secrets.token_hex(4)}"

    # -- mail ------------------------------------------------------------

    def mail(self, to: str) -> EmailMessage:
        """Plain (50%), multipart/alternative (30%) or with an attachment (20%); 10% replies."""
        customer = self.customer()
        subject, body = self.topic()
        message = EmailMessage()
        message["From"] = f"{customer.name} <{customer.email}>"
        message["To"] = to
        message["Date"] = format_datetime(datetime.now(UTC))
        message_id = make_msgid(idstring=self.unique("b"), domain="customers.example.com")
        message["Message-ID"] = message_id
        if customer.sent_message_ids and self.rng.random() < self.reply_share * 3:
            # A reply: quote the thread the way mail clients do (RFC 5322 §3.6.4).
            previous = customer.sent_message_ids[-1]
            message["Subject"] = "Re: " + subject
            message["In-Reply-To"] = previous
            message["References"] = " ".join(customer.sent_message_ids[-3:])
            body = body + "\n\nOn Monday you wrote:\n> " + "\n> ".join(TOPICS[0][1].split(". "))
        else:
            message["Subject"] = subject
        text = f"Hello,\n\n{body}\n\nBest regards,\n{customer.name}\n"
        message.set_content(text)
        kind = self.rng.random()
        if kind >= 0.5:
            message.add_alternative(
                f"<html><body><p>Hello,</p><p>{body}</p><p>Best regards,<br>{customer.name}</p></body></html>",
                subtype="html",
            )
        if kind >= 0.8:
            size = self.rng.randint(10_000, 60_000)
            message.add_attachment(
                b"%PDF-1.4\n" + self.rng.randbytes(size), maintype="application", subtype="pdf", filename="receipt.pdf"
            )
        customer.sent_message_ids.append(message_id)
        return message

    # -- Twilio ----------------------------------------------------------

    def sms(self, account_sid: str, to_number: str) -> dict[str, str]:
        """The form fields of Twilio's inbound-message webhook."""
        customer = self.customer()
        _, body = self.topic()
        return {
            "MessageSid": "SM" + secrets.token_hex(16),
            "SmsSid": "SM" + secrets.token_hex(16),
            "AccountSid": account_sid,
            "MessagingServiceSid": "",
            "From": customer.phone,
            "To": to_number,
            "Body": body[:160],
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
            "FromCountry": "US",
            "ToCountry": "US",
        }

    def call(self, account_sid: str, to_number: str) -> dict[str, str]:
        """The form fields of Twilio's incoming-call webhook."""
        customer = self.customer()
        return {
            "CallSid": "CA" + secrets.token_hex(16),
            "AccountSid": account_sid,
            "From": customer.phone,
            "To": to_number,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            "Caller": customer.phone,
            "Called": to_number,
            "FromCountry": "US",
        }

    # -- web -------------------------------------------------------------

    def form(self) -> dict[str, str]:
        customer = self.customer()
        subject, body = self.topic()
        with_phone = self.rng.random() < 0.3
        return {
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone if with_phone else "",
            "subject": subject,
            "message": body,
            "type": self.rng.choice(["question", "request", "complaint"]),
        }

    def intake(self) -> dict[str, object]:
        customer = self.customer()
        subject, body = self.topic()
        return {
            "channel": "api",
            "external_id": self.unique("crm-"),
            "name": customer.name,
            "email": customer.email,
            "subject": subject,
            "message": body,
            "type": "question",
        }
