"""Twilio → us: webhook routes generated from definitions, signature checks, and storing the event."""
