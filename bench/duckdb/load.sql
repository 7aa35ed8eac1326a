-- Load: the store's columns into DuckDB's own in-memory tables, from the Parquet files
-- bench/duckdb.ts writes once per size (bench/data/peers-N/). Placeholders {{name}} are
-- filled by bench/duckdb.ts with integers or paths; nothing else is templated.
--
-- events(rn, sub, t, cell, kind): rn is the store's global row number (days ascending,
-- ingest order within a day), the spec's tie order after t. Every column is a signed
-- 32-bit integer (t < 2^31 seconds, so no UINTEGER: signed keys stay on DuckDB's fast
-- integer paths, and BIGINT arithmetic below never needs an unsigned cast).
--
-- {{order_by}} is empty for file order (the store's order: days ascending, ingest order
-- within a day) or `ORDER BY t // 86400, sub, t` for Opalite's own order (grouped by day and
-- subscriber, time-sorted), the sort counted in this load's time. DuckDB keeps insertion
-- order, so the table's row groups (and their min/max zone maps on t) follow it.
CREATE TABLE events AS
  SELECT rn, sub, t, cell, kind FROM read_parquet('{{events}}') {{order_by}};

-- cell_region(dc, region, lon, lat): the cell version valid on each day and its admin3
-- region (-1 outside every region), keyed by one integer dc = day * {{cells}} + cell
-- instead of a (day, cell) pair: a one-column integer join key hashes and compares once.
CREATE TABLE cell_region AS
  SELECT dc, region, lon, lat FROM read_parquet('{{cell_region}}');

-- located(day_from, day_to): the calls and sms (kind & 3 < 2, the default event_types) in
-- [day_from, day_to) with an admin3 region. A table macro is expanded where it is used, so
-- the window is a constant filter pushed into the scan (zone maps skip other days).
-- k is the event's order key (t, then rn) packed into one BIGINT: seconds since the first
-- day ({{t0}}) shifted above rn's {{rn_bits}} bits. arg_max over a BIGINT key takes
-- DuckDB's fixed-width path; a UBIGINT or STRUCT key takes its generic (sort-key) path.
CREATE MACRO located(day_from, day_to) AS TABLE
  SELECT e.sub, e.t, c.region, ((e.t - {{t0}})::BIGINT << {{rn_bits}}) | e.rn AS k
  FROM events e JOIN cell_region c ON c.dc = (e.t // 86400) * {{cells}} + e.cell
  WHERE e.t >= day_from * 86400 AND e.t < day_to * 86400 AND (e.kind & 3) < 2 AND c.region >= 0;
