-- Microsoft Entra ID identity keys and the one definition of a privileged Entra account.
--
-- `mail` is null for many users (Graph: List users); a person is then found by the other identifiers Graph shows:
-- the userPrincipalName (not a guest's: `alice_fabrikam.com#EXT#@contoso.onmicrosoft.com` is a sign-in name made
-- by the tenant, not an address of the person), the mailbox's SMTP proxyAddresses ("SMTP:" primary first, then the
-- "smtp:" aliases) and otherMails (the user's other e-mail addresses). Both collections are "Returned only on
-- $select" and readable with User.Read.All.
ALTER TABLE raw_entra_users ADD COLUMN other_mails VARCHAR[];
ALTER TABLE raw_entra_users ADD COLUMN proxy_addresses VARCHAR[];  -- as Graph sends them: 'SMTP:a@b', 'smtp:c@d', ...

-- Rows landed before the connector mapped Graph's "no date" sentinels to NULL (0001-01-01, 1601-01-01, 9999-...)
-- still hold them; the history re-judges those days from these rows, so the view reads them as NULL too.
CREATE OR REPLACE MACRO entra_date(value) AS
    CASE WHEN value < TIMESTAMP '1900-01-01' OR value >= TIMESTAMP '9999-01-01' THEN NULL ELSE value END;

-- accounts_entra: every user.
--   account_id     the lower-cased userPrincipalName (the identity map's key is `entra:<upn>`); the object id when
--                  Graph sends no userPrincipalName.
--   emails         mail, the userPrincipalName (members only), the SMTP proxyAddresses, otherMails.
--   is_active      accountEnabled; missing counts as enabled (sign-in is not known to be blocked), so a leaver's
--                  account whose state Graph did not say is never passed as disabled.
--   is_privileged  THE definition of a privileged Entra account, used by every privileged control: the user holds
--                  at least one active directory role assignment (built-in or custom, tenant-wide or scoped to an
--                  administrative unit or app), matched on principalId so a principal Graph did not expand still
--                  counts. Roles held through a role-assignable group are the group's assignment: the group's
--                  members are not collected, and cc6_1_entra_admins_mfa reports such groups as unknown.
--   last_activity  the last successful sign-in; tenants without that property (not backfilled before Dec 2023)
--                  fall back to the latest interactive or non-interactive sign-in attempt. greatest() skips NULLs;
--                  no signInActivity at all (never signed in, or not since April 2020) is NULL.
CREATE OR REPLACE VIEW accounts_entra AS
WITH user_roles AS (
    SELECT a.snapshot_date, a.principal_id,
           list_sort(list_distinct(list(coalesce(a.role_name, a.role_template_id, a.role_definition_id,
                                                 'unnamed directory role')))) AS role_names
    FROM raw_entra_role_assignments a
    JOIN raw_entra_users u ON u.snapshot_date = a.snapshot_date AND u.id = a.principal_id
    GROUP BY ALL
), keyed AS (
    SELECT u.*,
           list_transform(
               list_concat(list_filter(coalesce(u.proxy_addresses, []), lambda p: starts_with(trim(p), 'SMTP:')),
                           list_filter(coalesce(u.proxy_addresses, []), lambda p: starts_with(trim(p), 'smtp:'))),
               lambda p: email_shaped(substr(trim(p), 6))) AS smtp_addresses,
           CASE WHEN NOT contains(lower(coalesce(u.user_principal_name, '')), '#ext#')
                THEN email_shaped(u.user_principal_name) END AS upn_email
    FROM raw_entra_users u
)
SELECT u.snapshot_date::DATE AS snapshot_date,
       'entra'::VARCHAR AS system,
       coalesce(lower(u.user_principal_name), u.id)::VARCHAR AS account_id,
       coalesce(email_shaped(u.mail), u.upn_email, u.smtp_addresses[1],
                email_shaped(coalesce(u.other_mails, [])[1]))::VARCHAR AS email,
       list_filter(list_concat([email_shaped(u.mail), u.upn_email], u.smtp_addresses,
                               list_transform(coalesce(u.other_mails, []), lambda e: email_shaped(e))),
                   lambda e: e IS NOT NULL)::VARCHAR[] AS emails,
       u.display_name::VARCHAR AS display_name,
       coalesce(u.account_enabled, true)::BOOLEAN AS is_active,
       (ur.role_names IS NOT NULL)::BOOLEAN AS is_privileged,
       coalesce(ur.role_names, [])::VARCHAR[] AS privileges,
       d.is_mfa_registered::BOOLEAN AS mfa_enabled,
       coalesce(entra_date(u.last_successful_sign_in_at),
                greatest(entra_date(u.last_sign_in_at), entra_date(u.last_non_interactive_sign_in_at)))::TIMESTAMP
           AS last_activity,
       entra_date(u.created_at)::TIMESTAMP AS created_at,
       ('https://entra.microsoft.com/#view/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/overview/userId/'
        || u.id)::VARCHAR AS resource_url,
       'entra.users'::VARCHAR AS dataset
FROM keyed u
LEFT JOIN user_roles ur ON ur.snapshot_date = u.snapshot_date AND ur.principal_id = u.id
LEFT JOIN raw_entra_user_registration_details d ON d.snapshot_date = u.snapshot_date AND d.id = u.id;
