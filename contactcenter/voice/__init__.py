"""Phone calls after they came in: progress, voicemail, outcomes, callbacks."""
