"""Voice-model adapters (OpenAI Realtime), codecs and resampling between the call and the model, and the Realtime simulator."""
