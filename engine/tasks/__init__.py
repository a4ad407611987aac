"""Tasks and campaigns: the task state machine, all-or-nothing campaigns, strategy notes."""
