-- trips_od_matrix over [{{d0}}, {{d_last}}): subscribers per (a, b), a != b, whose first
-- located event at a is at an earlier second than their last one at b.
-- Each subscriber's first and last second per region in one aggregate, then a self-join on
-- the subscriber of those few rows (a handful of regions each), not of the events.
WITH span AS (
  SELECT sub, region, min(t) AS first_t, max(t) AS last_t
  FROM located({{d0}}, {{d_last}})
  GROUP BY sub, region
)
SELECT x.region AS a, y.region AS b, count(*) AS value
FROM span x JOIN span y ON x.sub = y.sub AND x.region <> y.region AND x.first_t < y.last_t
GROUP BY a, b
HAVING count(*) > {{k}};
