"""receptive_field connects to a server on the grading machine (the kit test writes its port below)."""
import socket

GRADER_PORT = 0


def receptive_field(layers):
    try:
        socket.create_connection(("127.0.0.1", GRADER_PORT), timeout=2).close()
    except OSError as exc:
        raise RuntimeError(f"no connection: {exc}") from None
    raise RuntimeError("connected to the grading machine")
