"""A GPT-Live server that speaks `/v1/live/sessions` over a real WebSocket, for tests and for
`opendeep serve` without an API key (OPENDEEP_VOICE_PROVIDER=live).

`server` (transport, scripting, assertions) → `session` (one connection: commands, turns,
delegated tools, usage) → `start` (`session.start` and `session.update` validated like the
service). It shares the Realtime simulator's responders (`simulator.script`), its controls and
its ears (`simulator.vad`, `simulator.line`): the same scripted conversation runs on both."""
