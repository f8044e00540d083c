-- one row per database of aws_rds_databases (warehouse/views/): an instance outside any cluster (its own properties),
-- an Aurora or Multi-AZ DB cluster (the cluster's: its member instances are judged through it), and an enabled region
-- that was not read (unknown)
SELECT resource_id, resource_name, resource_url,
       CASE WHEN unread_status IS NOT NULL OR multi_az IS NULL THEN 'unknown'
            WHEN multi_az THEN 'pass' ELSE 'fail' END AS status,
       CASE WHEN unread_status IS NOT NULL THEN 'region enabled (' || unread_status || ') but not read: add it to AWS_REGIONS'
            WHEN multi_az THEN kind || ' runs in more than one availability zone (Multi-AZ)'
            WHEN NOT multi_az THEN kind || ' runs in a single availability zone'
                 || CASE WHEN kind = 'cluster' THEN ' (' || coalesce(len(members), 0) || ' member instances)' ELSE '' END
            ELSE 'MultiAZ not reported' END AS reason,
       CASE WHEN NOT multi_az AND unread_status IS NULL THEN 'single_az' END AS failure,
       kind, account_id, region, engine
FROM aws_rds_databases
WHERE snapshot_date = $snapshot_date
