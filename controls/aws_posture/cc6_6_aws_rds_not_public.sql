-- one row per database of aws_rds_databases (warehouse/views/): an instance outside any cluster (its own properties),
-- an Aurora or Multi-AZ DB cluster (the cluster's: its member instances are judged through it), and an enabled region
-- that was not read (unknown)
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
FROM aws_rds_databases
WHERE snapshot_date = $snapshot_date
