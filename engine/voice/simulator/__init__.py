"""A Realtime server that speaks the GA protocol over a real WebSocket, for tests and for
`opendeep serve` without an API key.

`server` (transport, scripting, assertions) → `session` (one connection: dispatch, items,
responses) → `session_config` (`session.update` validated and merged like the service),
`hearing` (the input buffer: turns from the audio, commits, transcription, idle timeout) with
`vad` and `line` (input formats, line echo), `stream` (one response's events); `script` holds
the replies and responders, `controls` the switches tests flip."""
