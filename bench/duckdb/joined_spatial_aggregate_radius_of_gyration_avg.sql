-- joined_spatial_aggregate: the average radius of gyration over [{{d0}}, {{d_last}}) of the
-- subscribers whose modal location (daily last, days [{{d0}}, {{week_end}})) is each region,
-- a region kept when more than {{k}} subscribers are located there.
-- Radius of gyration: sqrt of the mean squared great-circle distance (R = 6371.0088 km) from
-- each located event's cell (any valid cell version, region or not) to the subscriber's
-- centroid (plain mean lon, lat). A subscriber's events fall on few cells, so events are
-- counted per (subscriber, lon, lat) first and the haversine runs once per distinct place,
-- weighted by its count, instead of once per event.
WITH places AS (
  SELECT e.sub, c.lon, c.lat, count(*) AS n
  FROM events e JOIN cell_region c ON c.dc = (e.t // 86400) * {{cells}} + e.cell
  WHERE e.t >= {{d0}} * 86400 AND e.t < {{d_last}} * 86400 AND (e.kind & 3) < 2
  GROUP BY e.sub, c.lon, c.lat
),
centroid AS (
  SELECT sub, sum(lon * n) / sum(n) AS clon, sum(lat * n) / sum(n) AS clat FROM places GROUP BY sub
),
rog AS (
  SELECT p.sub, sqrt(sum(p.n * pow(2 * 6371.0088 * asin(least(1, sqrt(
           pow(sin(radians(p.lat - c.clat) / 2), 2)
           + cos(radians(c.clat)) * cos(radians(p.lat)) * pow(sin(radians(p.lon - c.clon) / 2), 2)
         ))), 2)) / sum(p.n)) AS v
  FROM places p JOIN centroid c USING (sub)
  GROUP BY p.sub
),
modal AS (
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
SELECT modal.region, avg(rog.v) AS value
FROM modal JOIN rog USING (sub)
GROUP BY modal.region
HAVING count(*) > {{k}};
