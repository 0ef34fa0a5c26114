"""The web console for leaders and staff (Chinese): a dashboard, the
complaint list, each complaint's timeline and actions, Excel export."""
