SELECT repository || ':' || coalesce(lower(login), '*') AS resource_id,
       coalesce(login || ' on ' || repository, repository || CASE WHEN coalesce(collaborators_visible, false)
                THEN ' (collaborators not all read)' ELSE ' (collaborators hidden)' END) AS resource_name,
       coalesce(repository_url, url) AS resource_url,
       CASE WHEN NOT coalesce(collaborators_visible, false) OR login IS NULL OR permission IS NULL THEN 'unknown'
            WHEN permission IN ('WRITE', 'MAINTAIN', 'ADMIN') THEN 'fail' ELSE 'pass' END AS status,
       CASE WHEN NOT coalesce(collaborators_visible, false)
            THEN 'GitHub did not show this repository''s collaborators to the token (needs push access)'
            WHEN login IS NULL
            THEN 'collaborators not all read: '
                 || coalesce(array_to_string(incomplete, '; '), 'no reason recorded')
            WHEN permission IS NULL THEN 'GitHub did not show the permission of outside collaborator ' || login
            ELSE 'outside collaborator ' || login || ' has ' || lower(permission) || ' access'
                 || CASE WHEN permission IN ('WRITE', 'MAINTAIN', 'ADMIN') THEN ' (more than read)' ELSE '' END
       END AS reason,
       CASE WHEN permission = 'ADMIN' THEN 'outside_admin'
            WHEN permission IN ('WRITE', 'MAINTAIN') THEN 'outside_write' END AS failure,
       permission,
       email
FROM raw_github_outside_collaborators
WHERE snapshot_date = $snapshot_date AND NOT coalesce(repository_archived, false)
