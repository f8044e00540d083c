-- One row per directory role a user or group holds (Global Administrator always): an enforced Conditional Access
-- policy covering the role (as cc6_1_entra_ca_mfa_admin_roles) requires a phishing-resistant authentication
-- strength: the built-in Phishing-resistant MFA (…0004) or a custom strength whose every allowed combination is
-- phishing-resistant (fido2, windowsHelloForBusiness, x509CertificateMultiFactor). A strength not in the tenant's
-- list of strengths is unknown, never pass.
WITH tenants AS (
    SELECT DISTINCT tenant_id FROM raw_entra_security_defaults WHERE snapshot_date = $snapshot_date
), roles AS (
    SELECT tenant_id, role_id, max(role_name) AS role_name
    FROM (
        SELECT tenant_id, coalesce(role_template_id, role_definition_id) AS role_id,
               coalesce(role_name, role_template_id, role_definition_id) AS role_name
        FROM raw_entra_role_assignments
        WHERE snapshot_date = $snapshot_date AND principal_type IN ('user', 'group')
        UNION ALL  -- judged even when nobody holds it
        SELECT tenant_id, '62e90394-69f5-4237-9190-012177145e10', 'Global Administrator' FROM tenants
    )
    GROUP BY tenant_id, role_id
), unreadable AS (
    SELECT tenant_id, any_value(unreadable_reason) AS reason
    FROM (
        SELECT tenant_id, unreadable_reason FROM raw_entra_conditional_access_policies
        WHERE snapshot_date = $snapshot_date AND unreadable_reason IS NOT NULL
        UNION ALL
        SELECT tenant_id, unreadable_reason FROM raw_entra_authentication_strength_policies
        WHERE snapshot_date = $snapshot_date AND unreadable_reason IS NOT NULL
    )
    GROUP BY tenant_id
), strengths AS (
    SELECT tenant_id, id,
           id = '00000000-0000-0000-0000-000000000004'
             OR (len(coalesce(allowed_combinations, [])) > 0
                 AND len(list_filter(allowed_combinations, lambda c: c NOT IN
                         ('fido2', 'windowsHelloForBusiness', 'x509CertificateMultiFactor'))) = 0)
             AS phishing_resistant
    FROM raw_entra_authentication_strength_policies
    WHERE snapshot_date = $snapshot_date AND id IS NOT NULL
), coverage AS (
    SELECT r.tenant_id, r.role_id, p.display_name,
           list_concat(p.mfa_gaps, CASE WHEN list_contains(p.exclude_roles, r.role_id)
                                        THEN ['excludes this role'] ELSE [] END) AS gaps,
           CASE WHEN p.authentication_strength_id = '00000000-0000-0000-0000-000000000004' THEN 'resistant'
                WHEN p.authentication_strength_id IS NULL THEN 'none'
                WHEN s.id IS NULL THEN 'unlisted'
                WHEN s.phishing_resistant THEN 'resistant' ELSE 'phishable' END AS strength,
           coalesce(p.authentication_strength_name, p.authentication_strength_id) AS strength_name
    FROM roles r
    JOIN raw_entra_conditional_access_policies p
      ON p.snapshot_date = $snapshot_date AND p.tenant_id = r.tenant_id AND p.id IS NOT NULL
     AND (p.all_users OR list_contains(p.include_roles, r.role_id))
     AND p.requires_mfa
    LEFT JOIN strengths s ON s.tenant_id = p.tenant_id AND s.id = p.authentication_strength_id
), judged AS (
    SELECT tenant_id, role_id,
           list(display_name ORDER BY display_name) FILTER (WHERE len(gaps) = 0 AND strength = 'resistant')
             AS qualifying,
           list(display_name ORDER BY display_name) FILTER (WHERE len(gaps) = 0 AND strength = 'unlisted')
             AS undecided,
           list(display_name || ': ' || array_to_string(list_concat(gaps, CASE strength
                    WHEN 'none' THEN ['MFA without an authentication strength (any method, phishable)']
                    WHEN 'phishable' THEN ['strength ' || strength_name || ' allows phishable methods']
                    WHEN 'unlisted' THEN ['strength ' || strength_name || ' is not in the tenant''s strengths']
                    ELSE [] END), '; ') ORDER BY display_name)
             FILTER (WHERE len(gaps) > 0 OR strength <> 'resistant') AS weaker
    FROM coverage
    GROUP BY tenant_id, role_id
)
SELECT r.tenant_id || '/role/' || r.role_id AS resource_id,
       r.role_name AS resource_name,
       'https://entra.microsoft.com/#view/Microsoft_AAD_IAM/RoleMenuBlade/~/RoleMembers/objectId/' || r.role_id
         AS resource_url,
       CASE WHEN len(coalesce(j.qualifying, [])) > 0 THEN 'pass'
            WHEN u.reason IS NOT NULL OR len(coalesce(j.undecided, [])) > 0 THEN 'unknown'
            ELSE 'fail' END AS status,
       r.role_name || ': ' || CASE
            WHEN len(coalesce(j.qualifying, [])) > 0
                 THEN 'phishing-resistant MFA required by ' || array_to_string(j.qualifying, ', ')
            WHEN u.reason IS NOT NULL THEN 'Conditional Access could not be read: ' || u.reason
            WHEN len(coalesce(j.undecided, [])) > 0
                 THEN array_to_string(j.undecided, ', ') || ' requires a strength the strengths list does not hold'
            WHEN len(coalesce(j.weaker, [])) > 0
                 THEN 'no enforced policy requires phishing-resistant MFA of this role: '
                      || array_to_string(j.weaker, ' | ')
            ELSE 'no Conditional Access policy requires MFA of this role' END AS reason,
       CASE WHEN len(coalesce(j.qualifying, [])) = 0 AND u.reason IS NULL AND len(coalesce(j.undecided, [])) = 0
            THEN CASE WHEN len(coalesce(j.weaker, [])) > 0 THEN 'phishable_or_hollow' ELSE 'no_policy' END
       END AS failure,
       r.role_id AS role_template_id,
       j.qualifying AS qualifying_policies,
       j.weaker AS weaker_policies
FROM roles r
LEFT JOIN unreadable u USING (tenant_id)
LEFT JOIN judged j USING (tenant_id, role_id)
