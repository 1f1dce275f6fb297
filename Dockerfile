# syntax=docker/dockerfile:1
# One image for every role: ROLE=api | worker | all | migrate (or `--role` on the command line).
# Build:  docker build -t plannet-directory:0.1.0 .

# --- build: install everything, type-check and compile TypeScript to dist/ ---
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/copy-build-assets.ts ./scripts/
RUN npm run build

# --- runtime: production dependencies only, compiled code, profiles and seeds ---
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/var/lib/plannet \
    SEED_DEMO=false
WORKDIR /app
COPY package.json package-lock.json ./
# The `node` dev dependency pins Node 24 for npm scripts on developer machines; the image already is Node 24.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY profiles ./profiles
COPY seeds ./seeds
# Writable only where the service writes (mount an emptyDir or volume there); the root filesystem can be read-only.
RUN mkdir -p /var/lib/plannet && chown node:node /var/lib/plannet
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/main.js"]
CMD ["--role", "api"]
