-- consecutive_trips_od_matrix over [{{d0}}, {{d_last}}): distinct subscribers with a located
-- event at a directly followed (t, then ingest order) by one at b, a = b included.
-- lead() over one BIGINT order key per subscriber; the distinct (sub, a, b) triples are
-- taken before the count instead of a count(DISTINCT sub) per pair.
SELECT a, b, count(*) AS value
FROM (
  SELECT DISTINCT sub, a, b
  FROM (SELECT sub, region AS a, lead(region) OVER (PARTITION BY sub ORDER BY k) AS b FROM located({{d0}}, {{d_last}}))
  WHERE b IS NOT NULL
)
GROUP BY a, b
HAVING count(*) > {{k}};
