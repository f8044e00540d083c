"""The sandbox's AWS: moto for STS, RDS and account-level IAM, our own routes for the rest."""
