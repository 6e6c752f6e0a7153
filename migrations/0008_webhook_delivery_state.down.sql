-- Undoes 0008: deliveries without their queue state.
DROP INDEX idx_webhook_deliveries_due;
ALTER TABLE webhook_deliveries DROP COLUMN last_error;
ALTER TABLE webhook_deliveries DROP COLUMN next_attempt_at;
ALTER TABLE webhook_deliveries DROP COLUMN status;
