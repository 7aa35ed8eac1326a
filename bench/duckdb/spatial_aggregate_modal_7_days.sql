-- spatial_aggregate of modal_location over the daily (last) locations of days
-- [{{d0}}, {{week_end}}): one scan of the week, each (subscriber, day)'s last region by
-- arg_max on the BIGINT key, then the region with most days, a tie to the latest day seen:
-- (days << 16) | last day index, one integer key instead of a STRUCT {n, d}.
SELECT region, count(*) AS value
FROM (
  SELECT sub, arg_max(region, (n << 16) | md) AS region
  FROM (
    SELECT sub, region, count(*) AS n, max(day) AS md
    FROM (
      SELECT sub, t // 86400 - {{d0}} AS day, arg_max(region, k) AS region
      FROM located({{d0}}, {{week_end}})
      GROUP BY sub, day
    )
    GROUP BY sub, region
  )
  GROUP BY sub
)
GROUP BY region
HAVING count(*) > {{k}};
