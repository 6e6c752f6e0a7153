-- Webhook deliveries as a queue (see src/store/webhooks.rs): a row is queued `pending` in the
-- transaction of the change that causes it, `sending` while a deliverer holds it (claimed with
-- `UPDATE … WHERE status = 'pending'`, so two processes never send one delivery twice), then
-- `delivered`, or back to `pending` for a retry, or `failed` once [webhooks] max_attempts is
-- spent. `attempt` (0001) counts the attempts made; status_code/response_body are the last
-- response's.
-- next_attempt_at: when a pending row is due (a scheduled post's event waits for its date);
--   while `sending`, when the claim lapses (a deliverer that died mid-send).
-- last_error: why the last attempt failed (a refused connection, a timeout, an HTTP status).
-- Rows kept across a down and up again: those delivered stay delivered (not sent again).
ALTER TABLE webhook_deliveries ADD COLUMN status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'sending', 'delivered', 'failed'));
ALTER TABLE webhook_deliveries ADD COLUMN next_attempt_at TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN last_error TEXT;
UPDATE webhook_deliveries SET status = 'delivered' WHERE delivered_at IS NOT NULL;
CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
