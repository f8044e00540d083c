-- requires: raw_aws_rds_instances, raw_aws_rds_clusters, raw_aws_regions
-- What the RDS controls judge, one row per database and day (controls/aws_posture/*rds*.sql select from it, a
-- control reading it declares aws.rds_instances, aws.rds_clusters and aws.regions):
--   kind 'instance'       an instance that belongs to no cluster, with its own settings;
--   kind 'cluster'        an Aurora or Multi-AZ DB cluster, with the settings the cluster decides for its members
--                         (Multi-AZ, deletion protection, log exports): its member instances are judged through it,
--                         never as databases of their own;
--   kind 'unread region'  an enabled region that AWS_REGIONS leaves out: its databases were not read, so every
--                         control says unknown (unread_status: its opt-in status).

CREATE OR REPLACE VIEW aws_rds_databases AS
WITH member_exposure AS (
    -- a cluster is reachable from the internet when any member instance is
    SELECT snapshot_date, account_id, region, db_cluster_identifier, bool_or(publicly_accessible) AS publicly_accessible
    FROM raw_aws_rds_instances
    WHERE db_cluster_identifier IS NOT NULL
    GROUP BY ALL
)
SELECT snapshot_date,
       coalesce(db_instance_arn, 'arn:aws:rds:' || region || ':' || account_id || ':db:' || db_instance_identifier)
         AS resource_id,
       db_instance_identifier AS resource_name,
       'https://console.aws.amazon.com/rds/home?region=' || region || '#database:id=' || db_instance_identifier
         AS resource_url,
       'instance' AS kind, account_id, region, engine, publicly_accessible, multi_az, deletion_protection,
       enabled_cloudwatch_logs_exports, NULL::VARCHAR[] AS members, NULL::VARCHAR AS unread_status
FROM raw_aws_rds_instances
WHERE db_cluster_identifier IS NULL
UNION ALL
SELECT c.snapshot_date,
       coalesce(c.db_cluster_arn, 'arn:aws:rds:' || c.region || ':' || c.account_id || ':cluster:'
                || c.db_cluster_identifier),
       c.db_cluster_identifier,
       'https://console.aws.amazon.com/rds/home?region=' || c.region || '#database:id=' || c.db_cluster_identifier
         || ';is-cluster=true',
       'cluster', c.account_id, c.region, c.engine,
       coalesce(c.publicly_accessible, m.publicly_accessible),
       c.multi_az, c.deletion_protection, c.enabled_cloudwatch_logs_exports, c.members, NULL
FROM raw_aws_rds_clusters c
LEFT JOIN member_exposure m
  ON m.snapshot_date = c.snapshot_date AND m.account_id = c.account_id AND m.region = c.region
 AND m.db_cluster_identifier = c.db_cluster_identifier
UNION ALL
SELECT snapshot_date, account_id || '/' || region, 'RDS databases in ' || account_id || ' ' || region,
       'https://console.aws.amazon.com/rds/home?region=' || region || '#databases:',
       'unread region', account_id, region, NULL, NULL, NULL, NULL, NULL, NULL,
       coalesce(opt_in_status, 'status not reported')
FROM raw_aws_regions
WHERE NOT coalesce(configured, false);
