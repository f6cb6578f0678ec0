# The GPU worker: same code, on a CUDA image where @tensorflow/tfjs-node-gpu installs
# (its install downloads libtensorflow with CUDA support) and training runs on the GPU.
FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates python3 make g++ \
 && curl -fsSL https://deb.nodesource.com/setup_20.x | bash - && apt-get install -y nodejs \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && node -e "require.resolve('@tensorflow/tfjs-node-gpu')" && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
ENV ROLE=worker
# its /healthz, /readyz and /metrics, reachable by Prometheus on the compose network
ENV HOST=0.0.0.0
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# never root: a worker that is compromised through a dependency owns nothing of the host
RUN useradd --system --uid 10001 --home-dir /app emerflow
USER emerflow
CMD ["npm", "start"]
