# Build: docker build -t customermates .
# Run:   docker run -p 4000:4000 -v cm-data:/data customermates
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml clippy.toml ./
COPY src ./src
COPY schema ./schema
COPY config ./config
RUN cargo build --release --locked --bin customermates

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data customermates && mkdir -p /data && chown customermates /data
COPY --from=build /src/target/release/customermates /usr/local/bin/customermates
USER customermates
WORKDIR /data
ENV CM_SERVER__LISTEN=0.0.0.0:4000 \
    CM_DATABASE__URL=surrealkv:///data/customermates \
    CM_LOG__FORMAT=json \
    MIMALLOC_PURGE_DELAY=10
EXPOSE 4000
HEALTHCHECK CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/4000"]
ENTRYPOINT ["customermates"]
