# One image, two roles (ROLE=api | worker | all). The commands are the README's:
# `npm ci` then `npm start`. Postgres and Redis come from docker-compose.yml.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# in a container the HTTP port (the API, or a worker's health and metrics) must listen beyond
# loopback (npm start alone defaults to 127.0.0.1)
ENV HOST=0.0.0.0
COPY package.json package-lock.json ./
# @tensorflow/tfjs-node-gpu is optional: without CUDA libraries its install fails and
# npm carries on; the service then uses the wasm backend.
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
USER node
EXPOSE 8080
# every role answers /healthz on PORT (a worker serves /healthz, /readyz and /metrics only)
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["npm", "start"]
