-- members, not invitations (pending, rejected: they cannot sign in); an omitted 2FA flag or status is unknown
SELECT coalesce(member_id, email) AS resource_id,
       coalesce(email, member_id) AS resource_name,
       'https://dash.cloudflare.com/' AS resource_url,
       CASE WHEN status IS NULL OR two_factor_authentication_enabled IS NULL THEN 'unknown'
            WHEN two_factor_authentication_enabled THEN 'pass'
            ELSE 'fail' END AS status,
       CASE WHEN status IS NULL THEN 'membership status not reported'
            WHEN two_factor_authentication_enabled IS NULL THEN 'Cloudflare did not say whether 2FA is enabled'
            WHEN two_factor_authentication_enabled THEN '2FA enabled'
            ELSE '2FA not enabled' END || ' (roles ' || coalesce(roles, '[]') || ')' AS reason,
       CASE WHEN two_factor_authentication_enabled = false THEN 'no_2fa' END AS failure,
       roles,
       status AS membership_status
FROM raw_cloudflare_members
WHERE snapshot_date = $snapshot_date AND status IS DISTINCT FROM 'pending' AND status IS DISTINCT FROM 'rejected'
