-- one row per database of aws_rds_databases (warehouse/views/): an instance outside any cluster (its own properties),
-- an Aurora or Multi-AZ DB cluster (the cluster's: its member instances are judged through it), and an enabled region
-- that was not read (unknown)
SELECT resource_id, resource_name, resource_url,
       CASE WHEN unread_status IS NOT NULL OR deletion_protection IS NULL THEN 'unknown'
            WHEN deletion_protection THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN unread_status IS NOT NULL THEN 'region enabled (' || unread_status || ') but not read: add it to AWS_REGIONS'
            WHEN deletion_protection THEN kind || ' has deletion protection'
            WHEN NOT deletion_protection THEN kind || ' can be deleted without first turning protection off'
            ELSE 'DeletionProtection not reported' END AS reason,
       CASE WHEN NOT deletion_protection AND unread_status IS NULL THEN 'unprotected' END AS failure,
       kind, account_id, region, engine
FROM aws_rds_databases
WHERE snapshot_date = $snapshot_date
