"""Switchboard: Twilio webhooks in, verified and stored; signed, retried deliveries out."""
