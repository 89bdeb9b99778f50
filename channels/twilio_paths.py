"""The hub's Twilio voice webhook paths: the TwiML and callbacks Twilio is pointed at.

One list, so the adapter that places calls and the handlers that answer them
cannot drift apart.
"""

VOICE_PATH = "/webhooks/twilio/voice"
MENU_PATH = "/webhooks/twilio/voice/menu"
QUEUE_PATH = "/webhooks/twilio/voice/queue"
HOLD_PATH = "/webhooks/twilio/voice/hold"
RECORDED_PATH = "/webhooks/twilio/voice/recorded"
RECORDING_PATH = "/webhooks/twilio/voice/recording"
TRANSCRIPTION_PATH = "/webhooks/twilio/voice/transcription"
STATUS_PATH = "/webhooks/twilio/voice/status"

# The agent's leg of a call (DESIGN.md §6) and what follows from it.
AGENT_PATH = "/webhooks/twilio/voice/agent"
AGENT_STATUS_PATH = "/webhooks/twilio/voice/agent/status"
AGENT_AFTER_PATH = "/webhooks/twilio/voice/agent/after"  # the <Dial> action: the caller left the agent
CONNECTING_PATH = "/webhooks/twilio/voice/connecting"  # <Queue url>: said to the caller as the agent takes them
CALL_RECORDING_PATH = "/webhooks/twilio/voice/call-recording"
# A warm transfer: the two agents talk in a conference while the caller holds.
CONSULT_PATH = "/webhooks/twilio/voice/agent/consult"
CONSULT_STATUS_PATH = "/webhooks/twilio/voice/agent/consult/status"
# Where the hub redirects a live caller (Calls resource update).
TRANSFERRED_PATH = "/webhooks/twilio/voice/transferred"
HELD_PATH = "/webhooks/twilio/voice/held"
HOLD_MUSIC_PATH = "/webhooks/twilio/voice/hold-music"
VOICEMAIL_PATH = "/webhooks/twilio/voice/voicemail"
# Call backs: the agent first, then the customer.
OUTBOUND_PATH = "/webhooks/twilio/voice/agent/outbound"
OUTBOUND_STATUS_PATH = "/webhooks/twilio/voice/agent/outbound/status"
