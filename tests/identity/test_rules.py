"""The pure matching and likeness decisions (contactcenter/identity/decisions.py)."""

from __future__ import annotations

from contactcenter.contact import Identity
from contactcenter.identity.decisions import canonical_identities, choose_customer, group_key, is_shared_evidence, score_likeness
from contactcenter.identity.normalize import name_key


def email(value, evidence="claimed", reply=False):
    return Identity(kind="email", value=value, evidence=evidence, is_reply_address=reply)


def phone(value, evidence="claimed", reply=False):
    return Identity(kind="phone", value=value, evidence=evidence, is_reply_address=reply)


def test_unknown_identifiers_mean_a_new_customer():
    decision = choose_customer((email("a@example.com", reply=True),), {})
    assert decision.customer_id is None and decision.matched.value == "a@example.com" and decision.others == ()


def test_one_known_identifier_links_and_the_others_are_not_a_conflict():
    ids = (email("new@example.com", reply=True), phone("+14155550100"))
    decision = choose_customer(ids, {("phone", "+14155550100"): 7})
    assert (decision.customer_id, decision.matched.value, decision.others) == (7, "+14155550100", ())


def test_two_customers_the_reply_address_wins_and_the_other_is_named():
    ids = (phone("+14155550100"), email("a@example.com", reply=True))
    decision = choose_customer(ids, {("phone", "+14155550100"): 3, ("email", "a@example.com"): 9})
    assert (decision.customer_id, decision.matched.kind, decision.others) == (9, "email", (3,))


def test_reply_address_unknown_the_strongest_evidence_wins():
    ids = (email("new@example.com", reply=True), email("x@example.com", "claimed"), phone("+14155550100", "verified"))
    decision = choose_customer(ids, {("email", "x@example.com"): 2, ("phone", "+14155550100"): 5})
    assert (decision.customer_id, decision.others) == (5, (2,))


def test_canonical_identities_fold_tags_and_drop_numbers_that_cannot_match():
    ids = (email("Alice+shop@gmail.com", reply=True), phone("VERIFY"), phone("12345"), email("alice@gmail.com"))
    assert canonical_identities(ids, ("gmail.com",)) == (email("alice@gmail.com", reply=True),)


def test_group_keys_and_free_mail():
    assert group_key("email", "a@acme.example") == "d:acme.example"
    assert group_key("phone", "+14155550100") == "p:+141555501"
    assert not is_shared_evidence("d:gmail.com", ["gmail.com"])
    assert is_shared_evidence("d:acme.example", ["gmail.com"])


def test_likeness_needs_an_alike_name_and_something_shared():
    same = score_likeness(name_key("John Smith"), name_key("Smith, John"), {"d:acme.example"})
    assert same is not None and same.reasons == ("same name", "both use the email domain acme.example")
    typo = score_likeness(name_key("Jonathan Smith"), name_key("Jonathon Smith"), {"p:+141555501"})
    assert typo is not None and typo.reasons[0].startswith("similar names")
    assert "phone numbers in the same block +141555501XX" in typo.reasons
    assert typo.score < same.score < 1.0
    assert score_likeness(name_key("John Smith"), name_key("John Smith"), set()) is None  # a name alone: no
    assert score_likeness(name_key("John Smith"), name_key("Mary Jones"), {"d:acme.example"}) is None  # colleagues
    assert score_likeness(name_key("Al"), name_key("Al"), {"d:acme.example"}) is None  # too short to say
