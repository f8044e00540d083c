WITH people AS (
    SELECT email, name, start_date
    FROM raw_hr_roster
    WHERE snapshot_date = $snapshot_date AND status = 'active' AND start_date <= $snapshot_date
), security AS (
    SELECT email,
           max(CASE WHEN completed THEN CAST(completion_date AS DATE) END) AS last_completed,
           count(*) AS enrollments,
           string_agg(DISTINCT CASE WHEN NOT completed THEN status END, ', ') AS open_statuses
    FROM raw_training_enrollments
    WHERE snapshot_date = $snapshot_date AND security_awareness
      AND (completion_date IS NULL OR CAST(completion_date AS DATE) <= $snapshot_date)
    GROUP BY email
), unreported AS (
    -- enrollments that may be security training or a completion, but the provider did not say
    -- (passed/completed: connectors/knowbe4/records.py COMPLETED_STATUSES)
    SELECT email, count(*) AS enrollments
    FROM raw_training_enrollments
    WHERE snapshot_date = $snapshot_date
      AND ((course IS NULL AND campaign IS NULL)
           OR (security_awareness AND NOT completed
               AND (status IS NULL
                    OR (completion_date IS NULL AND lower(trim(status)) IN ('passed', 'completed')))))
    GROUP BY email
), other AS (
    SELECT email, string_agg(DISTINCT course, ', ') AS courses
    FROM raw_training_enrollments
    WHERE snapshot_date = $snapshot_date AND NOT security_awareness
    GROUP BY email
), judged AS (
    SELECT p.email, p.name, p.start_date, s.last_completed, s.open_statuses, o.courses AS other_courses,
           p.start_date + $new_hire_grace_days AS due_by, u.enrollments AS unreported,
           CASE WHEN s.last_completed >= $snapshot_date - $training_valid_days THEN NULL
                WHEN $snapshot_date <= p.start_date + $new_hire_grace_days THEN NULL
                WHEN u.enrollments > 0 THEN 'unreported'
                WHEN s.last_completed IS NOT NULL THEN 'expired'
                WHEN coalesce(s.enrollments, 0) > 0 THEN 'never_completed'
                ELSE 'not_enrolled' END AS finding
    FROM people p
    LEFT JOIN security s ON s.email = p.email
    LEFT JOIN unreported u ON u.email = p.email
    LEFT JOIN other o ON o.email = p.email
)
SELECT email AS resource_id,
       name AS resource_name,
       NULL::VARCHAR AS resource_url,
       CASE WHEN finding IS NULL THEN 'pass' WHEN finding = 'unreported' THEN 'unknown' ELSE 'fail' END
           AS status,
       CASE WHEN last_completed >= $snapshot_date - $training_valid_days
                 THEN 'completed security-awareness training on ' || last_completed || ' (valid until '
                      || (last_completed + $training_valid_days) || ')'
            WHEN finding IS NULL
                 THEN 'not yet due: started ' || start_date || ', training due by ' || due_by
            WHEN finding = 'unreported'
                 THEN 'no valid completion reported, and ' || unreported || ' enrollment(s) came without a '
                      || 'status, a completion date or a course name'
                      || coalesce(' (last completed ' || last_completed || ')', '')
            WHEN finding = 'expired'
                 THEN 'last completed ' || last_completed || ', expired on '
                      || (last_completed + $training_valid_days)
            WHEN finding = 'never_completed'
                 THEN 'enrolled in security-awareness training (' || coalesce(open_statuses, 'status unknown')
                      || ') but never completed it'
            ELSE 'no security-awareness enrollment'
                 || coalesce(' (only other courses: ' || other_courses || ')', '')
       END AS reason,
       CASE WHEN finding <> 'unreported' THEN finding END AS failure,
       start_date,
       last_completed,
       due_by
FROM judged
