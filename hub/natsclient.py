"""The hub's NATS client: nats-py's `Client` with a fast header codec for the messages the hub sends.

nats-py parses and encodes message headers line by line in Python; with the dozen CloudEvents headers
every EVENTS and OUTBOX message carries, that was about a quarter of a worker's CPU. Plain header
blocks (`NATS/1.0` then `Key: value` lines) take a fast path here. Anything else (inline status
lines, heartbeats, odd whitespace, keys or values the library must check or rewrite) goes to the
library's own code, so every result is exactly the library's.
"""

from __future__ import annotations

from nats import errors as nats_errors
from nats.aio import client as nats_client
from nats.protocol import command as prot_command

_PLAIN_START = b"NATS/1.0\r\n"
_END = b"\r\n\r\n"
_LINE = "\r\n"
_SEPARATOR = ": "
# Header keys and key sequences repeat (a few message kinds); the caches stay bounded all the same,
# since a replayed dead letter may carry any keys.
_CACHE_LIMIT = 1024
# The fast paths reproduce nats-py's own line codec (2.16: `_parse_header_lines`, `_HEADER_KEY_RE`). A
# library without it, or one parsing headers with fast_mail_parser when that is installed, decides
# every block itself.
_KEY_RE = getattr(nats_client, "_HEADER_KEY_RE", None)
_FAST_PARSE = (getattr(nats_client, "parse_email", None) is None
               and hasattr(nats_client.Client, "_parse_header_lines"))

# The library's own check of a subject a client publishes to (2.16); without it, `publish_empty` sends each
# message through `publish`, which checks in its own way.
_validate_subject = getattr(nats_client, "_validate_subject", None)

_tokens: set[str] = set()
_templates: dict[tuple[str, ...], str] = {}


class HubClient(nats_client.Client):
    """A `nats.aio.client.Client` whose header parsing and encoding are fast for plain header blocks."""

    async def _process_headers(self, headers: bytes | None) -> dict[str, str] | None:
        if headers and _FAST_PARSE:
            parsed = parse_plain_headers(headers)
            if parsed is not None:
                return parsed
        return await super()._process_headers(headers)

    async def _send_publish(self, subject: str, reply: str, payload: bytes, payload_size: int,
                            headers: dict[str, str] | None) -> None:
        # Called by `Client.publish` after its own checks (closed, draining, buffer, max payload).
        block = encode_headers(headers) if headers is not None and subject else None
        if block is None:
            await super()._send_publish(subject, reply, payload, payload_size, headers)
            return
        # From here on as the library does it: count, queue the frame, kick the flusher.
        self.stats["out_msgs"] += 1
        self.stats["out_bytes"] += payload_size
        await self._send_command(prot_command.hpub_cmd(subject, reply, block, payload))
        if self._flush_queue is not None and self._flush_queue.empty():
            await self._flush_pending()

    async def publish_empty(self, subjects: list[str]) -> None:
        """An empty message to each of `subjects` (JetStream acks to the replies the server gave), queued as
        one frame instead of one `publish` each, each subject checked as `publish` checks it. While disconnected
        each goes through `publish`, which decides whether to buffer it."""
        if self.is_closed:
            raise nats_errors.ConnectionClosedError
        if self.is_draining_pubs:
            raise nats_errors.ConnectionDrainingError
        if not self.is_connected or _validate_subject is None:
            for subject in subjects:
                await self.publish(subject, b"")
            return
        if not subjects:
            return
        if not getattr(self, "_skip_subject_validation", False):
            for subject in subjects:  # as `publish` checks: an empty subject or white space would break the frame
                _validate_subject(subject)
        self.stats["out_msgs"] += len(subjects)
        await self._send_command("".join(f"PUB {subject} 0\r\n\r\n" for subject in subjects).encode())
        if self._flush_queue is not None and self._flush_queue.empty():
            await self._flush_pending()


def parse_plain_headers(block: bytes) -> dict[str, str] | None:
    """The headers of a plain block, as nats-py would parse them; None when the library must decide.

    Plain means: `NATS/1.0` with no status, then `Key: value` lines whose key is a header token and
    whose value has no white space at either end, in valid UTF-8. For such a block the library's
    result (first colon, stripped name and value, decoded) is exactly this split.
    """
    if not (block.startswith(_PLAIN_START) and block.endswith(_END)):
        return None
    try:
        text = block[len(_PLAIN_START):-len(_END)].decode()
    except UnicodeDecodeError:
        return None
    headers = {}
    for line in text.split(_LINE):
        key, separator, value = line.partition(_SEPARATOR)
        if not separator or value != value.strip() or not _is_token(key):
            return None
        headers[key] = value
    return headers


def encode_headers(headers: dict[str, str]) -> bytes | None:
    """The header block nats-py would write for `headers`; None when only the library may encode them.

    The block is one format of a template per key sequence, so keys are checked once per sequence.
    Values with CR or LF (which the library replaces by spaces) and keys it would skip or refuse
    are left to the library.
    """
    keys = tuple(headers)
    template = _templates.get(keys) or _template(keys)
    if template is None:
        return None
    text = template.format(*[value.strip() for value in headers.values()])
    lines = len(keys) + 2
    if text.count("\r") != lines or text.count("\n") != lines:
        return None
    return text.encode()


def _template(keys: tuple[str, ...]) -> str | None:
    if not all(isinstance(key, str) for key in keys):
        return None
    # The library writes `key.strip()`: for a str enum (nats-py's own `api.Header`) that is its value, not
    # its name, and an enum key equals its value, so both share one template.
    names = [key.strip() for key in keys]
    if not all(_is_token(name) for name in names):
        return None
    # Tokens hold no braces, so the names pass through `str.format` untouched.
    template = "NATS/1.0\r\n" + "".join(f"{name}: {{}}\r\n" for name in names) + "\r\n"
    if len(_templates) < _CACHE_LIMIT:
        _templates[keys] = template
    return template


def _is_token(key: str) -> bool:
    """A header name as the library accepts it: an RFC 7230 token."""
    if key in _tokens:
        return True
    if _KEY_RE is None or not _KEY_RE.fullmatch(key):
        return False
    if len(_tokens) < _CACHE_LIMIT:
        _tokens.add(key)
    return True
