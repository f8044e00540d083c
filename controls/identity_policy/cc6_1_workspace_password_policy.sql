-- One row per organisational unit holding an active in-scope account: the password policy the unit gets, resolved
-- down the OU tree from the Policy API's explicitly set policies (its own, else its nearest ancestor's, else
-- Google's default: a minimum of 8 characters), requires strong passwords of at least $min_password_length.
WITH units_in_use AS (
    SELECT org_unit_path AS path, count(*) AS accounts
    FROM raw_google_workspace_users
    WHERE snapshot_date = $snapshot_date AND in_scope AND NOT coalesce(suspended, false)
      AND NOT coalesce(archived, false) AND org_unit_path IS NOT NULL
    GROUP BY org_unit_path
), policies AS (
    SELECT p.*, u.org_unit_path AS unit_path,
           p.minimum_length >= $min_password_length AND p.allowed_strength = 'STRONG' AS meets
    FROM raw_google_workspace_policies p
    LEFT JOIN raw_google_workspace_org_units u
      ON u.snapshot_date = p.snapshot_date AND u.org_unit_id = p.org_unit_id
    WHERE p.snapshot_date = $snapshot_date AND p.setting_type = 'security.password'
), unplaced AS (
    SELECT list(name ORDER BY name) AS names FROM policies WHERE group_id IS NULL AND unit_path IS NULL
), weakening_groups AS (  -- a group's policy overrides its members' units; its members are not collected
    SELECT list('group ' || group_id ORDER BY group_id) AS groups FROM policies
    WHERE group_id IS NOT NULL AND NOT coalesce(meets, false)
), winners AS (  -- the policy each unit gets: the deepest OU policy at or above it
    SELECT i.path, i.accounts, arg_max(p.name, length(p.unit_path)) AS policy_name
    FROM units_in_use i
    LEFT JOIN policies p
      ON p.group_id IS NULL AND p.unit_path IS NOT NULL
     AND (p.unit_path = '/' OR i.path = p.unit_path OR starts_with(i.path, p.unit_path || '/'))
    GROUP BY i.path, i.accounts
), resolved AS (
    SELECT w.path, w.accounts, p.unit_path AS from_unit, p.minimum_length, p.allowed_strength,
           p.enforce_requirements_at_login AS at_login
    FROM winners w
    LEFT JOIN policies p ON p.name = w.policy_name
), judged AS (
    SELECT r.*, x.names AS unplaced, g.groups AS weakening,
           -- Google's default without any policy: 8 characters minimum
           CASE WHEN r.from_unit IS NULL THEN 8 ELSE r.minimum_length END AS length_in_force
    FROM resolved r CROSS JOIN unplaced x CROSS JOIN weakening_groups g
)
SELECT path AS resource_id,
       'organisational unit ' || path AS resource_name,
       'https://admin.google.com/ac/security/passwordmanagement' AS resource_url,
       CASE WHEN len(coalesce(unplaced, [])) > 0 THEN 'unknown'
            WHEN length_in_force < $min_password_length
                 OR (from_unit IS NOT NULL AND allowed_strength IS NOT NULL AND allowed_strength <> 'STRONG')
                 THEN 'fail'
            WHEN length_in_force IS NULL OR allowed_strength IS NULL OR len(coalesce(weakening, [])) > 0
                 THEN 'unknown'
            ELSE 'pass' END AS status,
       accounts || ' active account(s): ' || CASE
            WHEN len(coalesce(unplaced, [])) > 0
                 THEN 'policies on organisational units the org units list does not hold: '
                      || array_to_string(unplaced, ', ')
            WHEN from_unit IS NULL
                 THEN 'no password policy here or above: Google''s default, a minimum of 8 characters (limit '
                      || $min_password_length || ')'
            ELSE 'policy of ' || from_unit || CASE WHEN from_unit = path THEN '' ELSE ' (inherited)' END
                 || ': minimum length ' || coalesce(minimum_length::VARCHAR, 'not reported') || ' (limit '
                 || $min_password_length || '), strength ' || coalesce(allowed_strength, 'not reported')
                 || ', enforced at next sign-in ' || coalesce(at_login::VARCHAR, 'not reported')
                 || CASE WHEN len(coalesce(weakening, [])) > 0
                         THEN '; ' || array_to_string(weakening, ', ')
                              || ' set a weaker policy for their members, who are not collected'
                         ELSE '' END
       END AS reason,
       CASE WHEN len(coalesce(unplaced, [])) > 0 THEN NULL
            WHEN length_in_force < $min_password_length THEN 'too_short'
            WHEN from_unit IS NOT NULL AND allowed_strength IS NOT NULL AND allowed_strength <> 'STRONG'
                 THEN 'weak_allowed' END AS failure,
       from_unit AS policy_org_unit,
       length_in_force AS minimum_length,
       allowed_strength
FROM judged
