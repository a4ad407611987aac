"""The seams of the engine: what it needs from a phone system (`telephony`), a real-time
voice model (`voice_model`), what the lifecycle needs from the voice agent and gets back from
it (`agent`: `AgentRunner`, `CallReport`), and what the voice agent needs during a call
(`call_record`: `CallRecorder`; `owner_questions`: `UserInfoBroker`).
Adapters implement them (`ari_apps/`, `engine.voice`, `engine.agent`, `engine.hitl`); tests
wire fakes at the same places."""
