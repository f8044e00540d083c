-- Google Workspace (Admin SDK Directory API): users with 2-Step Verification, admin and status flags,
-- admin roles and role assignments. One row per record of connectors/google_workspace/streams.py.
CREATE TABLE raw_google_workspace_users (
    snapshot_date        DATE NOT NULL,
    run_id               VARCHAR NOT NULL,
    customer             VARCHAR,
    id                   VARCHAR NOT NULL,
    primary_email        VARCHAR NOT NULL,
    full_name            VARCHAR,
    is_enrolled_in_2sv   BOOLEAN,
    is_enforced_in_2sv   BOOLEAN,
    is_admin             BOOLEAN,
    is_delegated_admin   BOOLEAN,
    suspended            BOOLEAN,
    archived             BOOLEAN,
    org_unit_path        VARCHAR,
    -- false when org_unit_path is (below) a unit in GOOGLE_WORKSPACE_EXCLUDED_OUS (recorded in provenance):
    -- such accounts are kept as evidence but are not staff accounts
    in_scope             BOOLEAN NOT NULL,
    -- NULL when Google reports 1970-01-01 (never signed in); `raw` keeps what Google sent
    last_login_time      TIMESTAMP,
    creation_time        TIMESTAMP,
    raw                  VARCHAR
);

CREATE TABLE raw_google_workspace_role_assignments (
    snapshot_date        DATE NOT NULL,
    run_id               VARCHAR NOT NULL,
    customer             VARCHAR,
    role_assignment_id   VARCHAR NOT NULL,
    role_id              VARCHAR,
    assigned_to          VARCHAR,
    assignee_type        VARCHAR,
    scope_type           VARCHAR,
    org_unit_id          VARCHAR,
    condition            VARCHAR,
    raw                  VARCHAR
);

CREATE TABLE raw_google_workspace_roles (
    snapshot_date        DATE NOT NULL,
    run_id               VARCHAR NOT NULL,
    customer             VARCHAR,
    role_id              VARCHAR NOT NULL,
    role_name            VARCHAR,
    role_description     VARCHAR,
    is_system_role       BOOLEAN,
    is_super_admin_role  BOOLEAN,
    privilege_names      VARCHAR[],
    raw                  VARCHAR
);

-- Accounts in scope (staff, service and break-glass accounts; not excluded units) for the cross-system
-- access controls. privileges: the admin roles assigned to the user directly (group assignments are
-- not expanded), or ['Super Admin'] when Google flags isAdmin without a visible assignment.
CREATE VIEW accounts_google_workspace AS
WITH user_roles AS (
    SELECT a.snapshot_date, a.assigned_to, list_sort(list_distinct(list(r.role_name))) AS role_names
    FROM raw_google_workspace_role_assignments a
    JOIN raw_google_workspace_roles r ON r.snapshot_date = a.snapshot_date AND r.role_id = a.role_id
    WHERE a.assignee_type = 'user'
    GROUP BY ALL
)
SELECT u.snapshot_date::DATE AS snapshot_date,
       'google_workspace'::VARCHAR AS system,
       lower(u.primary_email)::VARCHAR AS account_id,
       lower(u.primary_email)::VARCHAR AS email,
       u.full_name::VARCHAR AS display_name,
       (NOT (u.suspended OR u.archived))::BOOLEAN AS is_active,
       (u.is_admin OR u.is_delegated_admin)::BOOLEAN AS is_privileged,
       coalesce(ur.role_names, CASE WHEN u.is_admin THEN ['Super Admin'] ELSE [] END)::VARCHAR[] AS privileges,
       u.is_enrolled_in_2sv::BOOLEAN AS mfa_enabled,
       u.last_login_time::TIMESTAMP AS last_activity,
       u.creation_time::TIMESTAMP AS created_at,
       ('https://admin.google.com/ac/users/' || u.id)::VARCHAR AS resource_url,
       'google_workspace.users'::VARCHAR AS dataset
FROM raw_google_workspace_users u
LEFT JOIN user_roles ur ON ur.snapshot_date = u.snapshot_date AND ur.assigned_to = u.id
WHERE u.in_scope;
