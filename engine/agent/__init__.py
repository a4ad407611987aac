"""The live voice agent: what it is (`task`, `profile`, `tools`) and how one call runs (`call_session`)."""
