"""The complaint loop beyond the resolution rule (actions.do_set_status): follow-ups, the apology, the board's view."""
