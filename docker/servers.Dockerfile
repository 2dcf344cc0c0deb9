# The rtbench servers: every protocol in one Node process, listening on all interfaces inside
# the container — 8080 HTTP (WebSocket, SSE, Socket.IO, GET /stats, GET /healthz), 50051 gRPC.
# Built from the repo root: docker compose build servers
FROM node:20-bookworm-slim AS build
WORKDIR /rtbench
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN node build.mjs --quiet

FROM node:20-bookworm-slim
WORKDIR /rtbench
ENV NODE_ENV=production RTBENCH_HOST=0.0.0.0
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /rtbench/dist/servers ./dist/servers
COPY proto ./proto
USER node
EXPOSE 8080 50051
CMD ["node", "--enable-source-maps", "dist/servers/main.js"]
