"""SMS: the outbox and inbound log, phone numbers; gateways live in backend.adapters.sms_gateways."""
