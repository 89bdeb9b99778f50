"""Who a contact is: normalised identifiers, matching decisions, merges, CRM import."""
