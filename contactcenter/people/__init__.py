"""People who work in the center: agents, supervisors and admins, and what they may take."""
