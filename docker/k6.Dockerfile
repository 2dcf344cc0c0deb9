# k6 v2 with rtbench's own extensions (extensions/, e.g. k6/x/sse) and the bundled scenarios.
# k6 is built by tools/k6.mjs exactly as `npm run k6:build` does locally: K6_VERSION and
# EXTENSIONS from that file, xk6 pinned in tools/go.mod, through the Go module proxy.
# Built from the repo root: docker compose build k6
# Also the runner image of `npm run k8s` (k6-operator): the operator replaces the entrypoint with
# its own `sh -c … k6 run … /rtbench/dist/<scenario>.js` and its initializer writes to /tmp, so the
# image keeps sh, k6 on PATH, the scenarios at that path and a writable /tmp.
FROM golang:1.26-bookworm AS go

FROM node:20-bookworm AS build
COPY --from=go /usr/local/go /usr/local/go
ENV PATH=/usr/local/go/bin:/root/go/bin:$PATH GOTOOLCHAIN=local RTBENCH_CACHE_DIR=/cache
WORKDIR /rtbench
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN node build.mjs --quiet && cp "$(node tools/k6.mjs build)" /usr/local/bin/k6 && k6 version

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/k6 /usr/local/bin/k6
WORKDIR /rtbench
# Scenarios open ./assets/… and ../proto relative to dist/, as in the repo.
COPY --from=build /rtbench/dist/*.js /rtbench/dist/*.js.map ./dist/
COPY --from=build /rtbench/dist/assets ./dist/assets
COPY proto ./proto
COPY docker/k6-run.sh /usr/local/bin/rtbench-k6
ENV SCENARIO=ws-image K6_NO_USAGE_REPORT=true
USER nobody
ENTRYPOINT ["rtbench-k6"]
