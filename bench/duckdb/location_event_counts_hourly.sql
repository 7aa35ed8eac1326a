-- location_event_counts per region and hour over [{{d0}}, {{d_last}}), direction both: a
-- region's series is published only if every hour bucket has more than {{k}} distinct
-- subscribers. One aggregate per (region, hour, subscriber) gives both the events (sum of
-- counts) and the distinct subscribers (count of groups) without a count(DISTINCT).
WITH per_sub AS (
  SELECT region, t // 3600 AS h, count(*) AS n
  FROM located({{d0}}, {{d_last}})
  GROUP BY region, h, sub
),
buckets AS (SELECT region, h, sum(n) AS n, count(*) AS s FROM per_sub GROUP BY region, h)
SELECT region, h, n AS value
FROM buckets
WHERE region IN (SELECT region FROM buckets GROUP BY region HAVING min(s) > {{k}});
