-- Every active person of the HR roster in scope holds a current attestation of one kind ($kind: background check,
-- confidentiality agreement). In scope ($person_scope): `production`, an account in one of $production_systems or a
-- privileged account in any system; `any_account`, any account. Accounts known to be disabled are out; an account
-- whose state (or privilege) its system does not report keeps its person in scope, as unknown unless attested.
WITH accounts_in_scope AS (
    SELECT person_email AS email, system,
           coalesce(is_active AND ($person_scope = 'any_account' OR list_contains($production_systems, system)
                                   OR is_privileged), false) AS certain
    FROM resolved_accounts
    WHERE snapshot_date = $snapshot_date AND person_email IS NOT NULL AND person_status = 'active'
      AND is_active IS NOT FALSE
      AND ($person_scope = 'any_account' OR list_contains($production_systems, system) OR is_privileged IS NOT FALSE)
), scoped AS (
    SELECT email, bool_or(certain) AS certain, string_agg(DISTINCT system, ', ' ORDER BY system) AS systems
    FROM accounts_in_scope
    GROUP BY email
), attested AS (
    SELECT *, least(expires, (performed + to_months(least(valid_months, $max_valid_months)))::DATE) AS valid_until
    FROM raw_attestations_attestations
    WHERE snapshot_date = $snapshot_date AND kind = $kind AND performed <= $snapshot_date
), latest AS (
    SELECT subject AS email,
           arg_max({'performed': performed, 'valid_until': valid_until, 'performer': performer, 'approver': approver,
                    'artefact_name': artefact_name, 'artefact_sha256': artefact_sha256, 'line': line},
                   (valid_until, -line)) AS a
    FROM attested
    GROUP BY subject
), judged AS (
    SELECT s.email, p.name, s.systems, s.certain, l.a,
           CASE WHEN l.a.valid_until >= $snapshot_date THEN NULL
                WHEN NOT s.certain THEN 'unreported'
                WHEN l.a IS NOT NULL THEN 'expired'
                ELSE 'missing' END AS finding
    FROM scoped s
    JOIN people p ON p.snapshot_date = $snapshot_date AND p.email = s.email
    LEFT JOIN latest l ON l.email = s.email
)
SELECT email AS resource_id,
       name AS resource_name,
       NULL::VARCHAR AS resource_url,
       CASE WHEN finding IS NULL THEN 'pass' WHEN finding = 'unreported' THEN 'unknown' ELSE 'fail' END AS status,
       CASE WHEN finding IS NULL
                THEN replace($kind, '_', ' ') || ' performed ' || a.performed || ' by ' || a.performer
                     || ' (approved by ' || a.approver || '), current until ' || a.valid_until || '; artefact '
                     || a.artefact_name || ' (sha256 ' || a.artefact_sha256[:12] || '…)'
            WHEN finding = 'unreported'
                THEN 'no current ' || replace($kind, '_', ' ') || ', and whether the ' || systems
                     || ' account(s) are active or privileged is not reported'
            WHEN finding = 'expired'
                THEN 'access to ' || systems || '; the latest ' || replace($kind, '_', ' ') || ', performed '
                     || a.performed || ' (entry on line ' || a.line || '), expired on ' || a.valid_until
            ELSE 'access to ' || systems || ' and no ' || replace($kind, '_', ' ') || ' attested' END AS reason,
       CASE WHEN finding IN ('expired', 'missing') THEN finding END AS failure,
       -- a person's row spans systems: no one system's dataset (an unusable system stands in as a row of its own)
       NULL::VARCHAR AS dataset,
       systems, a.performed, a.valid_until, a.performer, a.approver, a.artefact_name, a.artefact_sha256
FROM judged
