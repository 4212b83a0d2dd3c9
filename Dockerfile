# syntax=docker/dockerfile:1.7
# The flowspec image: `flowspec` as the entrypoint, run as a non-root user.
#
#   docker build -t flowspec .
#   docker run --rm -p 8080:8080 -e FLOWSPEC_EVENTS_TOKEN \
#     -v "$PWD/.flowspec/hooks:/srv/flowspec/.flowspec/hooks:ro" \
#     -v "$PWD/.flowspec/flowspec.yaml:/srv/flowspec/.flowspec/flowspec.yaml:ro" \
#     -v flowspec-state:/var/lib/flowspec flowspec serve --bind 0.0.0.0:8080
#
# The build context needs BuildKit (cache mounts). See docs/deploy.md.

ARG RUST_VERSION=1.89
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS builder
WORKDIR /src
# The registry and the target dir live in cache mounts: a source change rebuilds only
# the workspace crates, not the ~400 locked dependencies.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p flowspec-cli \
    && install -D -m 0755 target/release/flowspec /out/flowspec

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="flowspec" \
      org.opencontainers.image.description="Event-driven hooks and CI/CD integration: webhook receiver, trigger-directory watcher, notifiers" \
      org.opencontainers.image.source="https://github.com/flowspec/flowspec" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"

# ca-certificates: HTTPS to forges and notifiers; curl: the HEALTHCHECK below.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 flowspec \
    && useradd --system --uid 10001 --gid flowspec --home-dir /srv/flowspec \
       --shell /usr/sbin/nologin flowspec \
    && install -d -o flowspec -g flowspec /srv/flowspec/.flowspec /var/lib/flowspec \
    && ln -s /var/lib/flowspec /srv/flowspec/.flowspec/state

COPY --from=builder /out/flowspec /usr/local/bin/flowspec

# The project directory. Mount `.flowspec/hooks/` and `.flowspec/flowspec.yaml` into
# /srv/flowspec/.flowspec/ (read-only is fine); `.flowspec/state` (the embedded SQLite
# store) is a link to the volume. With `state.url: postgres://…` the volume stays empty.
WORKDIR /srv/flowspec
VOLUME ["/var/lib/flowspec"]
USER 10001:10001
EXPOSE 8080

# /healthz answers 200 while the process runs; it needs `serve --bind 0.0.0.0:8080`.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]

# flowspec handles SIGTERM itself (serve drains within `drain_timeout`), so it can be PID 1.
ENTRYPOINT ["flowspec"]
CMD ["serve", "--bind", "0.0.0.0:8080"]
