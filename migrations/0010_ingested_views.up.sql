-- `bloggo views ingest` counts each access-log line at most once: the key of every line it
-- counted (the request's time, 4 bytes, then 12 bytes of BLAKE3 over the line as written), so
-- a rotated file repeating lines of the last one, or the same file read again, adds nothing.
-- No address is kept here: a key is a hash of the whole line, address, time, request, size and
-- agent together.
CREATE TABLE ingested_views (
    key BLOB PRIMARY KEY NOT NULL
) WITHOUT ROWID;
