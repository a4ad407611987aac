"""The chat planner (`chat`) and the tools its model may call (`tools`)."""
