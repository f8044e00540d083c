-- one row per database: an instance outside any cluster (its own properties), an Aurora or Multi-AZ DB cluster (the
-- cluster's: its member instances are judged through it), and an enabled region that was not read (unknown)
WITH instances AS (
    SELECT * FROM raw_aws_rds_instances WHERE snapshot_date = $snapshot_date
), databases AS (
    SELECT coalesce(db_instance_arn, 'arn:aws:rds:' || region || ':' || account_id || ':db:' || db_instance_identifier)
             AS resource_id,
           db_instance_identifier AS resource_name,
           'https://console.aws.amazon.com/rds/home?region=' || region || '#database:id=' || db_instance_identifier
             AS resource_url,
           'instance' AS kind, account_id, region, engine, publicly_accessible, multi_az, deletion_protection,
           enabled_cloudwatch_logs_exports, NULL::VARCHAR[] AS members, NULL AS unread_status
    FROM instances
    WHERE db_cluster_identifier IS NULL
    UNION ALL
    SELECT coalesce(c.db_cluster_arn, 'arn:aws:rds:' || c.region || ':' || c.account_id || ':cluster:'
                    || c.db_cluster_identifier),
           c.db_cluster_identifier,
           'https://console.aws.amazon.com/rds/home?region=' || c.region || '#database:id=' || c.db_cluster_identifier
             || ';is-cluster=true',
           'cluster', c.account_id, c.region, c.engine,
           -- a cluster is reachable from the internet when any member instance is
           coalesce(c.publicly_accessible, (SELECT bool_or(i.publicly_accessible) FROM instances i
                                            WHERE i.account_id = c.account_id AND i.region = c.region
                                              AND i.db_cluster_identifier = c.db_cluster_identifier)),
           c.multi_az, c.deletion_protection, c.enabled_cloudwatch_logs_exports, c.members, NULL
    FROM raw_aws_rds_clusters c
    WHERE c.snapshot_date = $snapshot_date
    UNION ALL
    SELECT account_id || '/' || region, 'RDS databases in ' || account_id || ' ' || region,
           'https://console.aws.amazon.com/rds/home?region=' || region || '#databases:',
           'unread region', account_id, region, NULL, NULL, NULL, NULL, NULL, NULL,
           coalesce(opt_in_status, 'status not reported')
    FROM raw_aws_regions
    WHERE snapshot_date = $snapshot_date AND NOT coalesce(configured, false)
)
SELECT resource_id, resource_name, resource_url,
       CASE WHEN unread_status IS NOT NULL OR publicly_accessible IS NULL THEN 'unknown'
            WHEN publicly_accessible THEN 'fail' ELSE 'pass' END AS status,
       CASE WHEN unread_status IS NOT NULL THEN 'region enabled (' || unread_status || ') but not read: add it to AWS_REGIONS'
            WHEN publicly_accessible
            THEN kind || ' is publicly accessible: its endpoint resolves to a public address (reachable from the '
                 || 'internet wherever its security groups allow)'
            WHEN NOT publicly_accessible THEN kind || ' is not publicly accessible (private address only)'
            ELSE 'PubliclyAccessible not reported' END AS reason,
       CASE WHEN publicly_accessible AND unread_status IS NULL THEN 'publicly_accessible' END AS failure,
       kind, account_id, region, engine
FROM databases
