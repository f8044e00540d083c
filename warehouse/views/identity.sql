-- requires: raw_hr_roster, raw_identity_map
-- Identity resolution: every account of every system joined to the HR person it belongs to.
-- `accounts` (the union of each system's accounts_<source> view) is created in code just before
-- this file runs, because the set of systems grows with the migrations.

CREATE OR REPLACE MACRO normalize_email(address) AS
    nullif(regexp_replace(lower(trim(address)), '\+[^@]*@', '@'), '');

CREATE OR REPLACE VIEW people AS
SELECT snapshot_date, normalize_email(email) AS email, name, lower(status) AS status, start_date, end_date,
       manager, department
FROM raw_hr_roster;

CREATE OR REPLACE VIEW resolved_accounts AS
WITH keyed AS (
    SELECT *, system || ':' || lower(account_id) AS account_key FROM accounts
), aliases AS (
    SELECT snapshot_date, account_key, normalize_email(person_email) AS email
    FROM raw_identity_map WHERE kind = 'alias'
), approved AS (
    SELECT snapshot_date, account_key, kind, normalize_email(person_email) AS owner, approved_by, reason
    FROM raw_identity_map WHERE kind IN ('service', 'break_glass')
)
SELECT keyed.*,
       coalesce(aliases.email, normalize_email(keyed.email)) AS matched_email,
       CASE WHEN aliases.email IS NOT NULL THEN 'alias' WHEN people.email IS NOT NULL THEN 'email' END
           AS matched_by,
       people.email AS person_email, people.name AS person_name, people.status AS person_status,
       people.start_date AS person_start_date, people.end_date AS person_end_date,
       approved.kind AS approved_kind, approved.owner AS approved_owner, approved.reason AS approved_reason
FROM keyed
LEFT JOIN aliases ON aliases.snapshot_date = keyed.snapshot_date AND aliases.account_key = keyed.account_key
LEFT JOIN people ON people.snapshot_date = keyed.snapshot_date
                AND people.email = coalesce(aliases.email, normalize_email(keyed.email))
LEFT JOIN approved ON approved.snapshot_date = keyed.snapshot_date AND approved.account_key = keyed.account_key;
