"""Reading messages: the message log, reports and inbound messages."""
