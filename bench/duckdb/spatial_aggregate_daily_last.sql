-- spatial_aggregate of daily_location (last) on day {{d1}}: subscribers per admin3 region,
-- rows kept when more than {{k}} subscribers are behind them.
-- Each subscriber's latest located event is arg_max(region, k) over one BIGINT key (t, then
-- ingest order, packed by located()): one hash aggregate, no window, no sort.
SELECT region, count(*) AS value
FROM (SELECT sub, arg_max(region, k) AS region FROM located({{d1}}, {{d1}} + 1) GROUP BY sub)
GROUP BY region
HAVING count(*) > {{k}};
