"""What an HTTP request may send and how long it may take to arrive, and the codes of
its refusals: the limits that the body limit (`body.py`, ASGI middleware) and uvicorn's
protocol (`protocol.py`, the request's head, framing and deadlines) hold it to."""

MAX_REQUEST_HEAD_BYTES = 65_536
"""Bytes of a request's line and headers (a GET's query string included): 16 times a
browser's largest headers, 4 times the query string from which a GET is heavy."""
FRAMING_BYTES_PER_BODY_BYTE = 8
"""Bytes a request may send besides its head and its body (chunk sizes and extensions,
the chunks' line ends, trailers), per byte of its body, beyond MAX_REQUEST_HEAD_BYTES:
a chunk of one byte costs 5 (`1`, its line end, the byte, its line end), so a body of
1 MB sent a byte at a time is served."""
BAD_REQUEST = "BAD_REQUEST"
"""The code of a request that did not arrive in time (HTTP 408)."""
BUSY = "BUSY"
"""The code of a request or a WebSocket handshake past the process's connections (503)."""
BUSY_MESSAGE = "the server holds as many connections as it may: try again shortly"
REQUEST_HEAD_SECONDS = 10.0
"""The default of PARTNERBOOK_REQUEST_HEAD_SECONDS."""
REQUEST_BODY_SECONDS = 30.0
"""The default of PARTNERBOOK_REQUEST_BODY_SECONDS."""
RESPONSE_WRITE_SECONDS = 30.0
"""The default of PARTNERBOOK_RESPONSE_WRITE_SECONDS."""
