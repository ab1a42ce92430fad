"""The campaign calendar: launch, targeted reminder, close and purge, fired by one
scheduler process (``flask scheduler run``) that also sends the outbox."""
