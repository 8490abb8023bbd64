# tokend's container image (docs/operations.md, "From the container image").
#
#   docker build -t tokend .            (or: buildah bud --format docker -t tokend .; OCI's format has no HEALTHCHECK)
#   docker run -p 8080:8080 -v tokend-data:/data tokend
#
# Embedded SQLite in the /data volume by default; PostgreSQL when TOKEND_DATABASE_URL is set.
# Every other setting is a TOKEND_* variable (docs/configuration.md); a wrong one stops the start
# with a message that names it. SIGTERM drains: in-flight requests finish, then tokend exits.

# Any Node.js 24 image (official or your own) with npm, on a glibc Linux with `useradd`.
ARG BASE=node:24-bookworm-slim

# Build: all dependencies, the server bundled into dist/, the console to console/dist/, then only
# the production dependencies kept.
FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the image has Node 24 already; the `node` dependency (Node 24 for machines
# with an older one) is neither fetched nor kept.
RUN npm ci --no-audit --no-fund --ignore-scripts && rm -rf node_modules/node node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json ./
COPY bin bin
COPY scripts scripts
COPY src src
COPY console console
RUN npm run build \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf node_modules/node node_modules/.bin/node console/src console/node_modules

FROM ${BASE}
WORKDIR /app
RUN (id -u tokend >/dev/null 2>&1 || useradd --system --uid 10001 --user-group --home-dir /data --no-create-home tokend) \
  && mkdir -p /data && chown tokend:tokend /data
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/bin bin
COPY --from=build /app/src src
COPY --from=build /app/console/dist console/dist
COPY --from=build /app/dist dist
# The build is what runs: stamped after the sources it was made from were copied in.
RUN touch dist/.built
ENV NODE_ENV=production \
  TOKEND_HOST=0.0.0.0 \
  TOKEND_PORT=8080 \
  TOKEND_DATA_DIR=/data
USER tokend
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.TOKEND_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/tokend.js"]
CMD ["serve"]
