"""The voice model port (`model`), its OpenAI Realtime adapter and a GA-protocol simulator."""
