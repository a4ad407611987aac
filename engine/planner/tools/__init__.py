"""Tools the chat planner's model may call; each is enabled only when configured."""
