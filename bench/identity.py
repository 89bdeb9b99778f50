"""Identity benchmark: does one person end on one record, and how fast is the identify step?

    python bench/identity.py [--customers 100000] [--contacts 20000] [--seed 1] [--database URL]

Generates N people (names with accents and Chinese names; one or two email
addresses on company or free-mail domains; most with a US or UK number),
imports them as a CRM file with `contactcenter.identity.importer` (timed, twice: the
second run must create nothing), then sends a stream of contacts through the
identify step as email (verified address), SMS (verified number) and web form
(claimed address, sometimes a number) contacts. Contacts are written the way
people write: phone formats, letter case, spaces, `+tags` on free-mail
addresses, names in the other order or with a typo, and some come from people
the CRM never knew, or carry an address or number it did not have.

Ground truth is kept for every identifier. Reported:
- precision: of the contacts linked to an existing record, the share linked
  to a record of the same person (and the count of records mixing two people);
- recall: of the contacts carrying an identifier some record already held,
  the share that ended on a record of that person;
- merge suggestions opened, and how many pair two records of one person;
- the identify step's median and p99 time, from after the dedupe step (which
  opens the transaction) to its writes flushed, on the database given
  (a SQLite file in a temporary directory by default).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import os
import platform
import random
import statistics
import string
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import phonenumbers  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from contactcenter.contact import ChannelKind, Identity, InboundContact  # noqa: E402
from contactcenter.db.migrate import upgrade  # noqa: E402
from contactcenter.db.models import ContactPoint, Customer, MergeSuggestion, utcnow  # noqa: E402
from contactcenter.hub import Hub  # noqa: E402
from contactcenter.identity.importer import import_customers  # noqa: E402
from contactcenter.identity.normalize import normalize_email, normalize_phone  # noqa: E402
from contactcenter.pipeline.context import IngestContext  # noqa: E402
from contactcenter.pipeline.dedupe import dedupe  # noqa: E402
from contactcenter.pipeline.identify import identify_customer  # noqa: E402
from contactcenter.settings import load_settings  # noqa: E402

FIRST = (
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan Joseph Jessica "
    "Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa Matthew Betty Anthony Margaret Mark Sandra Donald Ashley "
    "Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa "
    "Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy "
    "Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen "
    "Chloé José Zoë Renée François Søren Björn Ängla Łukasz Małgorzata Jürgen Inès Noémie Raúl Begoña Siobhán"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson "
    "Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young "
    "Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez "
    "Müller Dupont Østergaard Ñúñez O'Brien Kowalski Nowak Schröder Lefèvre García Fernández Łęcki Yılmaz"
).split()
CN_FAMILY = "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗".split()
CN_GIVEN = "伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建华 文 华 红 玉兰 晓明 小红".split()
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "qq.com")
US_AREAS = (212, 213, 305, 312, 404, 415, 503, 512, 617, 702, 718, 206, 303, 602, 646, 713, 214, 917, 818, 619)
WORDS = "acme globex initech umbrella stark wayne wonka tyrell cyberdyne hooli vandelay soylent oscorp gringotts".split()


@dataclass
class Person:
    pid: int
    first: str
    last: str
    chinese: bool
    emails: list[str]  # canonical (lower-case, no tag)
    phones: list[str]  # E.164
    company: str = ""

    @property
    def name(self) -> str:
        return f"{self.last}{self.first}" if self.chinese else f"{self.first} {self.last}"


@dataclass
class World:
    rng: random.Random
    people: list[Person] = field(default_factory=list)
    used: set[str] = field(default_factory=set)  # every identifier handed out
    owner: dict[str, int] = field(default_factory=dict)  # identifier -> person
    companies: list[tuple[str, str]] = field(default_factory=list)  # (company, domain)

    def __post_init__(self) -> None:
        for i in range(max(50, len(WORDS) * 40)):
            word = WORDS[i % len(WORDS)]
            suffix = "" if i < len(WORDS) else str(i // len(WORDS))
            self.companies.append((f"{word.title()} {suffix}".strip(), f"{word}{suffix}.example"))

    def new_person(self) -> Person:
        rng = self.rng
        pid = len(self.people)
        chinese = rng.random() < 0.05
        if chinese:
            first, last = rng.choice(CN_GIVEN), rng.choice(CN_FAMILY)
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
        person = Person(pid=pid, first=first, last=last, chinese=chinese, emails=[], phones=[])
        if rng.random() < 0.5:
            person.company, domain = rng.choice(self.companies)
        else:
            domain = rng.choice(FREE_MAIL)
        self.add_email(person, domain)
        if rng.random() < 0.3:
            self.add_email(person, rng.choice(FREE_MAIL))
        if rng.random() < 0.8:
            self.add_phone(person)
        self.people.append(person)
        return person

    def add_email(self, person: Person, domain: str) -> str:
        base = _ascii(f"{person.first}.{person.last}") if not person.chinese else f"{_ascii(person.last) or 'wang'}{self.rng.randrange(100)}"
        base = base or "user"
        local, n = base, 1
        while f"{local}@{domain}" in self.used:
            n += 1
            local = f"{base}{n}" if n < 5 else f"{base}{self.rng.randrange(10**6)}"
        email = f"{local}@{domain}"
        self._own(email, person)
        person.emails.append(email)
        return email

    def add_phone(self, person: Person) -> str:
        rng = self.rng
        while True:
            if rng.random() < 0.85:
                text = f"+1{rng.choice(US_AREAS)}{rng.randrange(200, 1000)}{rng.randrange(10000):04d}"
            else:
                text = f"+447{rng.randrange(300, 1000)}{rng.randrange(10**6):06d}"
            if text in self.used:
                continue
            number = phonenumbers.parse(text)
            if phonenumbers.is_valid_number(number):
                break
        self._own(text, person)
        person.phones.append(text)
        return text

    def _own(self, identifier: str, person: Person) -> None:
        self.used.add(identifier)
        self.owner[identifier] = person.pid


def _ascii(text: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in plain if ch in string.ascii_lowercase + ".")


# How people write what they are.
def written_phone(rng: random.Random, e164: str) -> str:
    if e164.startswith("+1"):
        a, e, line = e164[2:5], e164[5:8], e164[8:]
        return rng.choice(
            (f"+1 {a} {e} {line}", f"({a}) {e}-{line}", f"{a}.{e}.{line}", f"{a}{e}{line}", f"1-{a}-{e}-{line}", e164, f" {a} {e}  {line} ")
        )
    rest = e164[3:]
    return rng.choice((f"+44 {rest[:4]} {rest[4:]}", f"+44 (0){rest[:4]} {rest[4:]}", e164, f"+44-{rest}"))


def written_email(rng: random.Random, email: str) -> str:
    local, domain = email.split("@")
    roll = rng.random()
    if roll < 0.2 and domain in ("gmail.com", "outlook.com", "hotmail.com", "icloud.com"):
        local = f"{local}+{rng.choice(('shop', 'news', 'orders', 'x1'))}"
    elif roll < 0.4:
        local = local.upper() if rng.random() < 0.5 else local.title()
    elif roll < 0.5:
        domain = domain.upper()
    return f"{' ' if rng.random() < 0.1 else ''}{local}@{domain}{'  ' if rng.random() < 0.1 else ''}"


def written_name(rng: random.Random, person: Person) -> str:
    if person.chinese:
        return rng.choice((person.name, f"{person.last} {person.first}", f" {person.name}"))
    roll = rng.random()
    if roll < 0.15:
        return f"{person.last}, {person.first}"
    if roll < 0.3:
        return f"  {person.first.upper()}   {person.last} "
    if roll < 0.4:  # a typo
        name = list(person.name)
        i = rng.randrange(len(name))
        name[i] = rng.choice(string.ascii_lowercase)
        return "".join(name)
    return person.name


def write_crm(path: Path, world: World, people: list[Person]) -> None:
    rng = world.rng
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["name", "emails", "phones", "company", "tier", "segment", "lifetime_value", "external_id"])
        for p in people:
            out.writerow(
                [
                    written_name(rng, p) if rng.random() < 0.2 else p.name,
                    ";".join(written_email(rng, e) for e in p.emails),
                    ";".join(written_phone(rng, n) for n in p.phones),
                    p.company,
                    rng.choice(("VIP", "A", "B", "C", "")),
                    rng.choice(("", "retail", "retail;emea", "enterprise")),
                    f"{rng.randrange(100000) / 100:.2f}",
                    f"CRM-{p.pid}",
                ]
            )


@dataclass
class Contact:
    person: int
    contact: InboundContact
    identifiers: list[str]  # canonical identifiers it carries (ground truth keys)


def make_contact(world: World, i: int, known: list[Person]) -> Contact:
    """One contact from a CRM customer (85 %) or from someone new; some carry a new identifier."""
    rng = world.rng
    if rng.random() < 0.85 or not known:
        person = rng.choice(known) if known else world.new_person()
    else:
        person = world.new_person() if rng.random() < 0.6 or len(world.people) == len(known) else rng.choice(world.people[len(known):])
    roll = rng.random()
    identities: list[Identity] = []
    carried: list[str] = []
    region = "US"

    def add_email(email: str, evidence: str, reply: bool) -> None:
        value = normalize_email(written_email(rng, email))  # what a channel hands over
        assert value is not None, email
        identities.append(Identity(kind="email", value=value, evidence=evidence, is_reply_address=reply))
        carried.append(email)

    def add_phone(e164: str, evidence: str, reply: bool) -> None:
        value = normalize_phone(written_phone(rng, e164), region)
        assert value == e164, (e164, value)
        identities.append(Identity(kind="phone", value=value, evidence=evidence, is_reply_address=reply))
        carried.append(e164)

    if roll < 0.4:
        channel = ChannelKind.EMAIL
        email = world.add_email(person, rng.choice(FREE_MAIL)) if rng.random() < 0.03 else rng.choice(person.emails)
        add_email(email, "verified", True)
    elif roll < 0.7:
        channel = ChannelKind.SMS
        phone = rng.choice(person.phones) if person.phones and rng.random() > 0.03 else world.add_phone(person)
        add_phone(phone, "verified", True)
    else:
        channel = ChannelKind.WEB
        add_email(rng.choice(person.emails), "claimed", True)
        if rng.random() < 0.5:
            phone = rng.choice(person.phones) if person.phones and rng.random() > 0.1 else world.add_phone(person)
            add_phone(phone, "claimed", False)
    contact = InboundContact(
        channel=channel,
        provider_id=f"bench:{i}",
        identities=tuple(identities),
        received_at=utcnow(),
        display_name=written_name(rng, person) if channel != ChannelKind.SMS else "",
        text="bench",
    )
    return Contact(person=person.pid, contact=contact, identifiers=carried)


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    world = World(rng)
    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite+aiosqlite:///{tmp.name}/bench.db"
    settings = load_settings(environ={})
    hub = Hub.create(settings, url)
    await upgrade(hub.engine)
    started = time.perf_counter()
    crm = [world.new_person() for _ in range(args.customers)]
    csv_path = Path(tmp.name) / "crm.csv"
    write_crm(csv_path, world, crm)
    print(f"generated {len(crm)} people and their CRM file in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    started, cpu_started = time.perf_counter(), time.process_time()
    first = await import_customers(hub, csv_path)
    import_seconds, import_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    started, cpu_started = time.perf_counter(), time.process_time()
    second = await import_customers(hub, csv_path)
    reimport_seconds, reimport_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"import {import_seconds:.1f} s, again {reimport_seconds:.1f} s", file=sys.stderr)

    # Which record holds which person, from the imported identifiers.
    record_person: dict[int, int] = {}
    held: set[str] = set()
    async with hub.sessions() as session:
        for customer_id, value in await session.execute(select(ContactPoint.customer_id, ContactPoint.value)):
            record_person.setdefault(customer_id, world.owner[value])
            held.add(value)

    # The benchmark's own ground truth (hundreds of thousands of objects) is
    # not the hub's heap: keep the collector from walking it during the timed step.
    gc.collect()
    gc.freeze()
    durations: list[float] = []
    cpu: list[float] = []
    linked = linked_right = linkable = linkable_right = created = 0
    mixed: set[int] = set()
    for i in range(args.contacts):
        item = make_contact(world, i, crm)
        is_linkable = any(identifier in held for identifier in item.identifiers)
        async with hub.sessions() as session, session.begin():
            ctx = IngestContext(hub=hub, session=session, contact=item.contact, now=utcnow())
            await dedupe([ctx])  # the step before, as in the pipeline: it opens the transaction
            t0, c0 = time.perf_counter(), time.process_time()
            await identify_customer([ctx])
            await session.flush()  # what the step wrote counts to its time
            durations.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            assert ctx.customer is not None
            customer_id = ctx.customer.id
        held.update(item.identifiers)
        owner = record_person.setdefault(customer_id, item.person)
        if owner != item.person:
            mixed.add(customer_id)
        if is_linkable:
            linkable += 1
            linkable_right += owner == item.person
            linked += 1
            linked_right += owner == item.person
        else:
            created += 1
        if args.contacts >= 10 and (i + 1) % (args.contacts // 10) == 0:
            print(f"contacts: {i + 1}/{args.contacts}", file=sys.stderr)

    async with hub.sessions() as session:
        customers = await session.scalar(select(func.count()).select_from(Customer))
        suggestions = list(await session.execute(select(MergeSuggestion.customer_a_id, MergeSuggestion.customer_b_id)))
    true_suggestions = sum(record_person.get(a) == record_person.get(b) for a, b in suggestions)
    await hub.close()

    durations.sort()
    p = lambda values, q: values[min(len(values) - 1, int(q * len(values)))] * 1000  # noqa: E731
    print(f"## identity benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    print(f"- command: `python bench/identity.py --customers {args.customers} --contacts {args.contacts} --seed {args.seed}`")
    print(f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, database {url.split(':')[0]}")
    print(f"- CRM import of {args.customers} rows: {import_seconds:.1f} s wall, {import_cpu:.1f} s CPU (created {first.created}, "
          f"rejected {len(first.rejected)}, look-alike suggestions {first.lookalikes}); same file again: {reimport_seconds:.1f} s wall, "
          f"{reimport_cpu:.1f} s CPU (created {second.created}, updated {second.updated}, unchanged {second.unchanged})")
    print(f"- contacts: {args.contacts}; linkable (carried an identifier a record held): {linkable}; new people/identifiers: {created}")
    print(f"- precision: {linked_right / max(linked, 1):.3f} ({linked - linked_right} contacts on another person's record); records mixing two people: {len(mixed)}")
    print(f"- recall on linkable contacts: {linkable_right / max(linkable, 1):.4f} ({linkable - linkable_right} missed)")
    print(f"- merge suggestions opened: {len(suggestions)} ({true_suggestions} pair two records of one person); customers at the end: {customers}")
    if durations:
        cpu.sort()
        print(f"- identify step, wall clock: median {statistics.median(durations) * 1000:.2f} ms, p99 {p(durations, 0.99):.2f} ms, max {durations[-1] * 1000:.1f} ms")
        print(f"- identify step, CPU time of the process (all threads): median {statistics.median(cpu) * 1000:.2f} ms, p99 {p(cpu, 0.99):.2f} ms")
        print(f"- load average while measuring (1/5/15 min, at the end): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", help="SQLAlchemy URL of an empty database (default: a temporary SQLite file)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
