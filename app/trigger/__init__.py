"""Triggers: the events the loaded connector definitions declare, as automations choose from them."""
