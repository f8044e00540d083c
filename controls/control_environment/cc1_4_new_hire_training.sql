WITH hires AS (
    SELECT email, name, start_date, start_date + $new_hire_grace_days AS due_by
    FROM raw_hr_roster
    WHERE snapshot_date = $snapshot_date AND status = 'active'
      AND start_date <= $snapshot_date AND start_date > $snapshot_date - $new_hire_lookback_days
), first_done AS (
    SELECT h.email, min(CAST(t.completion_date AS DATE)) AS first_completed
    FROM hires h
    JOIN raw_training_enrollments t ON t.email = h.email
    WHERE t.snapshot_date = $snapshot_date AND t.security_awareness AND t.completed
      AND CAST(t.completion_date AS DATE) BETWEEN h.start_date - $new_hire_grace_days AND $snapshot_date
    GROUP BY h.email
), unreported AS (
    -- as in cc1_4_security_training_current: what the provider did not say
    SELECT h.email, count(*) AS enrollments
    FROM hires h
    JOIN raw_training_enrollments t ON t.email = h.email
    WHERE t.snapshot_date = $snapshot_date
      AND ((t.course IS NULL AND t.campaign IS NULL)
           OR (t.security_awareness AND NOT t.completed
               AND (t.status IS NULL
                    OR (t.completion_date IS NULL AND lower(trim(t.status)) IN ('passed', 'completed')))))
    GROUP BY h.email
), judged AS (
    SELECT h.*, f.first_completed, u.enrollments AS unreported,
           CASE WHEN f.first_completed <= h.due_by THEN NULL
                WHEN $snapshot_date <= h.due_by AND f.first_completed IS NULL THEN NULL
                WHEN u.enrollments > 0 THEN 'unreported'
                WHEN f.first_completed IS NOT NULL THEN 'trained_late'
                ELSE 'not_trained' END AS finding
    FROM hires h
    LEFT JOIN first_done f ON f.email = h.email
    LEFT JOIN unreported u ON u.email = h.email
)
SELECT email AS resource_id,
       name AS resource_name,
       NULL::VARCHAR AS resource_url,
       CASE WHEN finding IS NULL THEN 'pass' WHEN finding = 'unreported' THEN 'unknown' ELSE 'fail' END
           AS status,
       CASE WHEN first_completed <= due_by
                 THEN 'started ' || start_date || ', completed security-awareness training on ' || first_completed
                      || ' (due by ' || due_by || ')'
            WHEN finding IS NULL
                 THEN 'not yet due: started ' || start_date || ', training due by ' || due_by
            WHEN finding = 'unreported'
                 THEN 'started ' || start_date || ', no completion by ' || due_by || ' reported, and '
                      || unreported || ' enrollment(s) came without a status, a completion date or a course name'
            WHEN finding = 'trained_late'
                 THEN 'started ' || start_date || ', completed on ' || first_completed || ', '
                      || (first_completed - due_by) || ' day(s) after the ' || due_by || ' deadline'
            ELSE 'started ' || start_date || ', not trained; due by ' || due_by
       END AS reason,
       CASE WHEN finding <> 'unreported' THEN finding END AS failure,
       start_date,
       first_completed,
       due_by
FROM judged
