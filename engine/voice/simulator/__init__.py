"""A Realtime server that speaks the GA protocol over a real WebSocket, for tests and for
`opendeep serve` without an API key."""
