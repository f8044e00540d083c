-- One row per organisational unit holding an active in-scope account: the 2-Step Verification enforcement policy the
-- unit gets, resolved down the OU tree from the Policy API's explicitly set policies (its own, else its nearest
-- ancestor's, else Google's default: not enforced), is in force on the snapshot day (enforcedFrom not after it).
WITH units_in_use AS (
    SELECT org_unit_path AS path, count(*) AS accounts
    FROM raw_google_workspace_users
    WHERE snapshot_date = $snapshot_date AND in_scope AND NOT coalesce(suspended, false)
      AND NOT coalesce(archived, false) AND org_unit_path IS NOT NULL
    GROUP BY org_unit_path
), policies AS (
    SELECT p.*, u.org_unit_path AS unit_path,
           p.enforced_from IS NOT NULL AND p.enforced_from < $snapshot_date::TIMESTAMP + INTERVAL 1 DAY AS enforced
    FROM raw_google_workspace_policies p
    LEFT JOIN raw_google_workspace_org_units u
      ON u.snapshot_date = p.snapshot_date AND u.org_unit_id = p.org_unit_id
    WHERE p.snapshot_date = $snapshot_date AND p.setting_type = 'security.two_step_verification_enforcement'
), unplaced AS (  -- an OU policy on a unit the org units do not hold could apply anywhere
    SELECT list(name ORDER BY name) AS names FROM policies WHERE group_id IS NULL AND unit_path IS NULL
), weakening_groups AS (  -- a group's policy overrides its members' units; its members are not collected
    SELECT list('group ' || group_id ORDER BY group_id) AS groups FROM policies
    WHERE group_id IS NOT NULL AND NOT enforced
), winners AS (  -- the policy each unit gets: the deepest OU policy at or above it
    SELECT i.path, i.accounts, arg_max(p.name, length(p.unit_path)) AS policy_name
    FROM units_in_use i
    LEFT JOIN policies p
      ON p.group_id IS NULL AND p.unit_path IS NOT NULL
     AND (p.unit_path = '/' OR i.path = p.unit_path OR starts_with(i.path, p.unit_path || '/'))
    GROUP BY i.path, i.accounts
), resolved AS (
    SELECT w.path, w.accounts, p.unit_path AS from_unit, coalesce(p.enforced, false) AS enforced, p.enforced_from,
           p.enforced_from_sentinel AS sentinel
    FROM winners w
    LEFT JOIN policies p ON p.name = w.policy_name
)
SELECT r.path AS resource_id,
       'organisational unit ' || r.path AS resource_name,
       'https://admin.google.com/ac/security/2sv' AS resource_url,
       CASE WHEN len(coalesce(x.names, [])) > 0 OR coalesce(r.sentinel, false) THEN 'unknown'
            WHEN r.enforced AND len(coalesce(g.groups, [])) > 0 THEN 'unknown'
            WHEN r.enforced THEN 'pass' ELSE 'fail' END AS status,
       r.accounts || ' active account(s): ' || CASE
            WHEN len(coalesce(x.names, [])) > 0
                 THEN 'policies on organisational units the org units list does not hold: '
                      || array_to_string(x.names, ', ')
            WHEN coalesce(r.sentinel, false)
                 THEN 'the policy of ' || r.from_unit || ' sent Google''s 1970-01-01 "no date" as enforcedFrom'
            WHEN r.from_unit IS NULL
                 THEN 'no 2-Step Verification enforcement policy here or above: Google''s default, not enforced'
            WHEN r.enforced AND len(coalesce(g.groups, [])) > 0
                 THEN 'enforced since ' || strftime(r.enforced_from, '%Y-%m-%d') || ' (policy of ' || r.from_unit
                      || '), but ' || array_to_string(g.groups, ', ')
                      || ' turn it off for their members, who are not collected'
            WHEN r.enforced THEN 'enforced since ' || strftime(r.enforced_from, '%Y-%m-%d') || ' (policy of '
                 || r.from_unit || CASE WHEN r.from_unit = r.path THEN ')' ELSE ', inherited)' END
            WHEN r.enforced_from IS NOT NULL
                 THEN 'enforcement starts ' || strftime(r.enforced_from, '%Y-%m-%d') || ' (policy of ' || r.from_unit
                      || '): not enforced yet'
            ELSE 'enforcement off (policy of ' || r.from_unit || ' sets no enforcedFrom)' END AS reason,
       CASE WHEN len(coalesce(x.names, [])) = 0 AND NOT coalesce(r.sentinel, false) AND NOT coalesce(r.enforced, false)
            THEN CASE WHEN r.enforced_from IS NOT NULL THEN 'not_yet_enforced' ELSE 'not_enforced' END END AS failure,
       r.from_unit AS policy_org_unit,
       r.enforced_from
FROM resolved r
CROSS JOIN unplaced x
CROSS JOIN weakening_groups g
