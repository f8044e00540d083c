-- HTTPS (ALB) and TLS (NLB) listeners; the policy's protocols from DescribeSSLPolicies of the same account and region.
WITH listeners AS (
    SELECT l.*, p.ssl_protocols, p.name IS NOT NULL AS policy_listed
    FROM raw_aws_lb_listeners l
    LEFT JOIN raw_aws_ssl_policies p
           ON p.snapshot_date = l.snapshot_date AND p.account_id = l.account_id AND p.region = l.region
          AND p.name = l.ssl_policy
    WHERE l.snapshot_date = $snapshot_date AND l.protocol IN ('HTTPS', 'TLS')
), judged AS (
    SELECT *, list_filter(coalesce(ssl_protocols, []), lambda p: p NOT IN ('TLSv1.2', 'TLSv1.3')) AS weak
    FROM listeners
)
SELECT account_id || '/' || region || '/' || coalesce(load_balancer_name, load_balancer_arn) || '/' || port AS resource_id,
       coalesce(load_balancer_name, load_balancer_arn) || ' ' || protocol || ':' || port || ' (' || account_id || ' '
         || region || ')' AS resource_name,
       'https://console.aws.amazon.com/ec2/home?region=' || region || '#LoadBalancers:search='
         || coalesce(load_balancer_name, '') AS resource_url,
       CASE WHEN ssl_policy IS NULL OR NOT policy_listed OR len(coalesce(ssl_protocols, [])) = 0 THEN 'unknown'
            WHEN len(weak) > 0 THEN 'fail'
            ELSE 'pass' END AS status,
       CASE WHEN ssl_policy IS NULL THEN protocol || ' listener reported without an SSL policy'
            WHEN NOT policy_listed THEN 'SSL policy ' || ssl_policy || ' is not among the policies DescribeSSLPolicies listed'
            WHEN len(coalesce(ssl_protocols, [])) = 0 THEN 'SSL policy ' || ssl_policy || ' lists no protocol'
            WHEN len(weak) > 0
            THEN 'SSL policy ' || ssl_policy || ' allows ' || array_to_string(weak, ', ') || ' (below TLS 1.2)'
            ELSE 'SSL policy ' || ssl_policy || ' allows ' || array_to_string(ssl_protocols, ', ') || ' only'
       END AS reason,
       CASE WHEN ssl_policy IS NOT NULL AND policy_listed AND len(weak) > 0 THEN 'weak_tls_policy' END AS failure,
       account_id,
       region,
       load_balancer_type,
       scheme,
       ssl_policy,
       ssl_protocols
FROM judged
