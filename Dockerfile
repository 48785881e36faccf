# syntax=docker/dockerfile:1
#
# One image for every function of the speed layer; the command picks the function:
#   node --import tsx functions/ingest/main.ts          (the default)
#   node --import tsx functions/analytics/main.ts
#   node --import tsx functions/sessionizer/main.ts
# The Knative Services (charts/functions.ts) set it with `args`, so tini stays PID 1, forwards
# SIGTERM, and a function flushes its micro-batch before the pod goes.
#
#   docker build -t speed-layer:dev .
#
# Same Node.js as the project's machines (20.x); pin by digest for a release build.
ARG NODE_VERSION=20.20.2

# ---- dependencies: production only ----------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# `npm ci --omit=dev`: the lockfile's production dependencies, nothing from devDependencies
# (cdk8s, vitest, typescript, the schema packages). tsx stays: it is how the functions run.
#
# chdb (~540 MB with @chdb/lib-*, ClickHouse built as a library) is the embedded engine for local
# runs. functions/adapters/clickhouse.ts loads it with a dynamic import only when CLICKHOUSE_URL
# is unset; in the cluster CLICKHOUSE_URL always points at the ClickHouse server, so the image
# leaves it out. Running this image without CLICKHOUSE_URL fails at start, by design.
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/chdb node_modules/@chdb \
 && npm cache clean --force

# ---- runtime ----------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
# Owned by root, read-only for the runtime user: the pods also mount the root file system
# read-only (charts: readOnlyRootFilesystem), with an emptyDir at /tmp for tsx's cache.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY functions ./functions
COPY sql ./sql
# Non-root, numeric so Kubernetes can verify runAsNonRoot (charts/values.ts: FUNCTION_UID).
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--max-semi-space-size=32", "--import", "tsx", "functions/ingest/main.ts"]
