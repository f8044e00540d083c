-- Every IAM user and role, and the broad grants (connectors/aws/policy_documents.py) of each policy it holds: its
-- inline policies, the managed policies attached to it and, for a user, its groups' inline and attached policies.
-- A grant through a policy whose document was not read (NULL) leaves the principal unknown unless a read one fails it.
WITH entity AS (
    SELECT * FROM raw_aws_authorization_details WHERE snapshot_date = $snapshot_date
), policy AS (
    SELECT account_id, arn, name, broad_grants FROM entity WHERE entity_type = 'policy'
), grp AS (
    SELECT account_id, name, attached_policy_arns, broad_grants FROM entity WHERE entity_type = 'group'
), principal AS (
    SELECT account_id, entity_type, name, arn, coalesce(groups, []) AS groups,
           coalesce(attached_policy_arns, []) AS attached_policy_arns, broad_grants
    FROM entity
    WHERE entity_type IN ('user', 'role') AND NOT starts_with(coalesce(path, '/'), '/aws-service-role/')
), attached AS (
    SELECT account_id, entity_type, name, unnest(attached_policy_arns) AS policy_arn FROM principal
), membership AS (
    SELECT account_id, entity_type, name, unnest(groups) AS group_name FROM principal WHERE entity_type = 'user'
), group_attached AS (
    SELECT m.account_id, m.entity_type, m.name, m.group_name, unnest(g.attached_policy_arns) AS policy_arn
    FROM membership m JOIN grp g ON g.account_id = m.account_id AND g.name = m.group_name
), holding AS (
    SELECT account_id, entity_type, name, 'inline' AS via, broad_grants AS grants FROM principal
    UNION ALL
    SELECT a.account_id, a.entity_type, a.name, 'attached ' || coalesce(p.name, a.policy_arn), p.broad_grants
    FROM attached a LEFT JOIN policy p ON p.account_id = a.account_id AND p.arn = a.policy_arn
    UNION ALL
    SELECT m.account_id, m.entity_type, m.name, 'group ' || m.group_name || ' inline', g.broad_grants
    FROM membership m LEFT JOIN grp g ON g.account_id = m.account_id AND g.name = m.group_name
    UNION ALL
    SELECT ga.account_id, ga.entity_type, ga.name, 'group ' || ga.group_name || ' attached '
             || coalesce(p.name, ga.policy_arn), p.broad_grants
    FROM group_attached ga LEFT JOIN policy p ON p.account_id = ga.account_id AND p.arn = ga.policy_arn
), summary AS (
    SELECT account_id, entity_type, name,
           flatten(list(list_transform(grants, lambda g: via || ' (' || g || ')')) FILTER (WHERE grants IS NOT NULL))
             AS found,
           list(via) FILTER (WHERE grants IS NULL) AS unreadable
    FROM holding
    GROUP BY ALL
), judged AS (
    SELECT p.account_id, p.entity_type, p.name, coalesce(s.found, []) AS found, coalesce(s.unreadable, []) AS unreadable,
           len(list_filter(CAST($aws_admin_principals AS VARCHAR[]),
                           lambda pattern: (p.entity_type || '/' || p.name) GLOB pattern
                                           OR len(list_filter(p.groups, lambda g: ('group/' || g) GLOB pattern)) > 0))
             > 0 AS approved
    FROM principal p
    LEFT JOIN summary s ON s.account_id = p.account_id AND s.entity_type = p.entity_type AND s.name = p.name
)
SELECT account_id || '/' || entity_type || '/' || name AS resource_id,
       entity_type || ' ' || name || ' (' || account_id || ')' AS resource_name,
       'https://console.aws.amazon.com/iam/home#/' || entity_type || 's/details/' || name AS resource_url,
       CASE WHEN len(found) > 0 AND NOT approved THEN 'fail'
            WHEN len(found) > 0 THEN 'pass'
            WHEN len(unreadable) > 0 THEN 'unknown'
            ELSE 'pass' END AS status,
       CASE WHEN len(found) > 0 AND NOT approved
            THEN 'broad access outside the approved administrators: ' || array_to_string(found, '; ')
            WHEN len(found) > 0
            THEN 'an approved administrator (aws_admin_principals): ' || array_to_string(found, '; ')
            WHEN len(unreadable) > 0
            THEN 'policy documents not read: ' || array_to_string(unreadable, ', ')
            ELSE 'no policy it holds allows * on * or everything but a list'
       END AS reason,
       CASE WHEN len(found) > 0 AND NOT approved THEN 'broad_access' END AS failure,
       account_id,
       entity_type AS principal_type,
       approved AS approved_administrator
FROM judged
