-- Undoes 0010: the keys of ingested log lines (the views they counted stay).
DROP TABLE ingested_views;
