-- flows between the daily (last) locations of days {{d0}} and {{d_last}}: subscribers per
-- (from, to), stayers included, each pair kept when more than {{k}} are behind it.
-- Each day's last locations by arg_max on the BIGINT key (one hash aggregate a day, each
-- scan pruned to its day by the zone maps on t), joined on the subscriber.
SELECT a.region AS a, b.region AS b, count(*) AS value
FROM (SELECT sub, arg_max(region, k) AS region FROM located({{d0}}, {{d0}} + 1) GROUP BY sub) a
JOIN (SELECT sub, arg_max(region, k) AS region FROM located({{d_last}}, {{d_last}} + 1) GROUP BY sub) b USING (sub)
GROUP BY a.region, b.region
HAVING count(*) > {{k}};
