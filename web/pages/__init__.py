"""HTML pages, one controller module per area."""
