-- spatial_aggregate of daily_location (most-common) on day {{d1}}.
-- Most events per (subscriber, region), a tie to the region whose latest event is latest:
-- the count and the latest event's key are packed into one BIGINT (n above k's {{k_bits}}
-- bits) so the outer arg_max compares integers, not a STRUCT {n, k} (DuckDB's slow path).
SELECT region, count(*) AS value
FROM (
  SELECT sub, arg_max(region, (n << {{k_bits}}) | mk) AS region
  FROM (SELECT sub, region, count(*) AS n, max(k) AS mk FROM located({{d1}}, {{d1}} + 1) GROUP BY sub, region)
  GROUP BY sub
)
GROUP BY region
HAVING count(*) > {{k}};
