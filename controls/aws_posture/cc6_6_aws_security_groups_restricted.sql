-- each ingress entry: the restricted ports it reaches (IpProtocol -1 = every protocol and port; tcp by name or
-- number 6), and whether its source is anywhere (0.0.0.0/0, ::/0) or a prefix list (whose ranges are not read)
WITH entries AS (
    SELECT g.account_id, g.region, g.group_id, g.group_name, g.vpc_id, e.entry
    FROM raw_aws_security_groups g
    LEFT JOIN LATERAL (SELECT unnest(g.ingress) AS entry) e ON true
    WHERE g.snapshot_date = $snapshot_date
), reached AS (
    SELECT *,
           CASE WHEN entry.ip_protocol = '-1' THEN $restricted_ports
                WHEN lower(entry.ip_protocol) IN ('tcp', '6')
                THEN list_filter($restricted_ports, lambda p: p BETWEEN entry.from_port AND entry.to_port)
                ELSE [] END AS ports
    FROM entries
), groups AS (
    SELECT account_id, region, group_id, any_value(group_name) AS group_name, any_value(vpc_id) AS vpc_id,
           list_sort(list_distinct(list(entry.source || ' -> ' || CASE WHEN entry.ip_protocol = '-1' THEN 'all traffic'
                                                                    ELSE array_to_string(ports, ', ') END)
             FILTER (WHERE len(ports) > 0 AND entry.source IN ('0.0.0.0/0', '::/0')))) AS open_to_anywhere,
           list_sort(list_distinct(list(entry.source)
             FILTER (WHERE len(ports) > 0 AND entry.source_kind = 'prefix_list'))) AS prefix_lists
    FROM reached
    GROUP BY account_id, region, group_id
), unread AS (
    SELECT account_id, region, opt_in_status
    FROM raw_aws_regions WHERE snapshot_date = $snapshot_date AND NOT coalesce(configured, false)
)
SELECT 'arn:aws:ec2:' || region || ':' || account_id || ':security-group/' || group_id AS resource_id,
       coalesce(group_name, group_id) || ' (' || group_id || ')' AS resource_name,
       'https://console.aws.amazon.com/ec2/home?region=' || region || '#SecurityGroup:groupId=' || group_id
         AS resource_url,
       CASE WHEN len(open_to_anywhere) > 0 THEN 'fail' WHEN len(prefix_lists) > 0 THEN 'unknown' ELSE 'pass' END
         AS status,
       CASE WHEN len(open_to_anywhere) > 0
            THEN 'administrative or database ports open to the internet: ' || array_to_string(open_to_anywhere, '; ')
            WHEN len(prefix_lists) > 0
            THEN 'administrative or database ports open to prefix list ' || array_to_string(prefix_lists, ', ')
                 || ', whose ranges were not read (it may hold 0.0.0.0/0)'
            ELSE 'no administrative or database port open to 0.0.0.0/0 or ::/0' END AS reason,
       CASE WHEN len(open_to_anywhere) > 0 THEN 'open_to_internet' END AS failure,
       account_id,
       region,
       vpc_id
FROM groups
UNION ALL
SELECT account_id || '/' || region, 'security groups in ' || account_id || ' ' || region,
       'https://console.aws.amazon.com/ec2/home?region=' || region || '#SecurityGroups:',
       'unknown',
       'region enabled (' || coalesce(opt_in_status, 'status not reported') || ') but not read: add it to AWS_REGIONS',
       NULL, account_id, region, NULL
FROM unread
