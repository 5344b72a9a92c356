# chatfn: build with Swift, run on Node 20 (the functions' runtime) with Debian's librdkafka and esbuild.
FROM swift:6.2-bookworm AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends librdkafka-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
RUN swift build -c release --static-swift-stdlib --product chatfn \
 && mkdir -p /out && bin="$(swift build -c release --show-bin-path)" \
 && cp "$bin/chatfn" /out/ && cp -R "$bin"/*.resources /out/

FROM node:20-bookworm-slim
# libcurl4: chatfn makes context.api requests (FoundationNetworking); util-linux and mount: the workers'
# namespaces (unshare, prlimit, setsid, mount), which need root or unprivileged user namespaces (docs/security.md);
# libjs-codemirror: the dashboard's code editor (chatfn control).
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends librdkafka1 esbuild ca-certificates libcurl4 util-linux mount libjs-codemirror \
 && rm -rf /var/lib/apt/lists/* && useradd --system --create-home chatfn
COPY --from=build /out/ /opt/chatfn/
ENV CHATFN_HARNESS=/opt/chatfn/chatfn_Workers.resources/Harness/harness.js CHATFN_CACHE=/home/chatfn/.cache/chatfn
USER chatfn
WORKDIR /app
ENTRYPOINT ["/opt/chatfn/chatfn"]
CMD ["run", "--functions", "/app"]
