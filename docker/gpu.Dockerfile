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
CMD ["npm", "start"]
