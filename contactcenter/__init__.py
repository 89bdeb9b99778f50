"""contactcenter: one async hub for every channel a customer uses to reach you."""
