"""The seams of the engine: what it needs from a phone system (`telephony`), a real-time
voice model (`voice_model`), and what the lifecycle needs from the voice agent (`agent`).
Adapters implement them (`ari_apps/`, `engine.voice`); tests wire fakes at the same places."""
