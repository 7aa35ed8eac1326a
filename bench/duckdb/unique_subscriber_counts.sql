-- unique_subscriber_counts over [{{d0}}, {{d_last}}): distinct subscribers per region.
-- Distinct (region, subscriber) pairs first, then a plain count: DuckDB's grouped
-- count(DISTINCT) keeps a set per group; the two-phase form is two parallel hash aggregates.
SELECT region, count(*) AS value
FROM (SELECT DISTINCT region, sub FROM located({{d0}}, {{d_last}}))
GROUP BY region
HAVING count(*) > {{k}};
