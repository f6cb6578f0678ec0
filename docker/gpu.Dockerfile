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
# never root: a worker that is compromised through a dependency owns nothing of the host
RUN useradd --system --uid 10001 --home-dir /app emerflow
USER emerflow
CMD ["npm", "start"]
