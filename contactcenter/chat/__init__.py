"""Live chat: the widget a site embeds, its connections, and who is there to answer.

The wire format of chat messages is translated by `channels/chat.py`; this
package holds what the hub keeps about a chat while it is open: the signed
visitor token a page keeps across reloads, the open sockets an agent's answer
is pushed to, and the routes the widget talks to.
"""
