# The code location's image: what Dagster's Helm chart (a user deployment) or dagster-docker's DockerRunLauncher
# runs. The webserver and daemon are Dagster's own images, pointed at this one over gRPC; all share the PostgreSQL
# instance of deploy/dagster.yaml (DAGSTER_PG_* from the environment, never baked in).
FROM python:3.11-slim

# Chromium prints report.pdf (without it the bundle's manifest records the PDF as not written)
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/evidence-pipeline
COPY . .
# the plain install and PostgreSQL storage: no sandbox, no test tools
RUN pip install --no-cache-dir '.[postgres]' \
 && mkdir -p /opt/dagster/home /var/lib/evidence \
 && cp deploy/dagster.yaml /opt/dagster/home/dagster.yaml

ENV DAGSTER_HOME=/opt/dagster/home \
    EVIDENCE_HOME=/var/lib/evidence \
    EVIDENCE_DAGSTER_YAML=/opt/evidence-pipeline/deploy/dagster.yaml \
    EVIDENCE_CONTROLS_MAP=/opt/evidence-pipeline/controls_map.yaml

# the evidence (DuckDB, bundles) is the one volume to keep
VOLUME ["/var/lib/evidence"]
EXPOSE 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "evidence_pipeline.definitions"]
