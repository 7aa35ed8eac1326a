-- Ingest: the dataset's CSV files into a table, the way an expert loads a file whose
-- schema is known (docs/DATA.md's events columns): no sniffing (auto_detect = false), the
-- columns and their types stated, the header skipped. {{files}} is a list of paths.
CREATE TABLE raw_events AS SELECT * FROM read_csv({{files}},
  header = true, auto_detect = false, delim = ',', quote = '"',
  columns = {{columns}});
