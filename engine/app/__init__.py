"""The process: the `opendeep` command, the node and its wiring, adapters found by entry point."""
