# One image for every Pharos component; compose.yaml picks the subcommand.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm install, not npm ci: npm 11 lockfiles miss other platforms' optional packages (npm/cli#4828).
RUN npm install --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/dashboard/web/dist ./dashboard/web/dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/alerts/default-rules ./alerts/default-rules
COPY --from=build /app/package.json ./package.json
RUN mkdir -p /data && chown node:node /data
USER node
ENV PHAROS_DATA_DIR=/data
ENTRYPOINT ["node", "bin/pharos.js"]
CMD ["all"]
