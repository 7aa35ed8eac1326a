-- total_network_objects per region and hour over [{{d0}}, {{d_last}}): distinct cells with
-- located calls or sms. No redaction (cells are infrastructure, not people).
-- Distinct (region, hour, cell) first, then a plain count, as in unique_subscriber_counts.
SELECT region, h, count(*) AS value
FROM (
  SELECT DISTINCT c.region, e.t // 3600 AS h, e.cell
  FROM events e JOIN cell_region c ON c.dc = (e.t // 86400) * {{cells}} + e.cell
  WHERE e.t >= {{d0}} * 86400 AND e.t < {{d_last}} * 86400 AND (e.kind & 3) < 2 AND c.region >= 0
)
GROUP BY region, h;
