# chatfn: built with Swift, run on Node 20 (the functions' runtime) with Debian's librdkafka and esbuild.
#   docker build -t chatfn .
FROM swift:6.3-bookworm AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends librdkafka-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole package (.dockerignore leaves out builds and git): Package.swift names every target's folder.
COPY . .
RUN swift build -c release --static-swift-stdlib --product chatfn \
 && mkdir -p /out && bin="$(swift build -c release --show-bin-path)" \
 && cp "$bin/chatfn" /out/ && cp -R "$bin"/*.resources /out/

FROM node:20-bookworm-slim
# libcurl4: chatfn makes context.api requests (FoundationNetworking); util-linux and mount: the workers'
# namespaces and limits (unshare, prlimit, setsid, setpriv, mount), which need root or unprivileged user
# namespaces (docs/security.md); libjs-codemirror: the dashboard's code editor (chatfn control).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends librdkafka1 esbuild ca-certificates libcurl4 util-linux mount libjs-codemirror \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 chatfn && useradd --system --uid 10001 --gid 10001 --create-home chatfn
COPY --from=build /out/ /opt/chatfn/
# Everything chatfn writes goes under /home/chatfn/.cache and /tmp, so the root file system can be read-only.
ENV CHATFN_HARNESS=/opt/chatfn/chatfn_Workers.resources/Harness/harness.js CHATFN_CACHE=/home/chatfn/.cache/chatfn \
    NPM_CONFIG_CACHE=/home/chatfn/.cache/npm CHATFN_HOME=/home/chatfn/.cache/home
# Numeric, so that runAsNonRoot can check it.
USER 10001:10001
WORKDIR /app
ENTRYPOINT ["/opt/chatfn/chatfn"]
# Every application of the registry (chatfn control writes it); `run --functions /app` serves a directory instead.
CMD ["run"]
