"""Automations' subscriptions: CRUD, secrets, filters and matching events to them."""
