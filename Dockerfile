# Multi-stage build: compile with the full Rust toolchain, run on a slim Debian with libpq only.
FROM rust:1-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY .cargo .cargo
COPY src src
COPY migrations migrations
COPY content content
COPY console console
COPY tests tests
RUN cargo build --release --locked --bin reprise

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/reprise --create-home reprise
COPY --from=build /src/target/release/reprise /usr/local/bin/reprise
USER reprise
WORKDIR /var/lib/reprise
# SQLite data (database and generated JWT secret) lives on this volume; set REPRISE_DATABASE_URL
# to postgres://… to use PostgreSQL instead.
VOLUME ["/var/lib/reprise/data"]
ENV REPRISE_BIND=0.0.0.0:8080 \
    REPRISE_DATABASE_URL=sqlite:///var/lib/reprise/data/reprise.db
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["reprise"]
CMD ["serve"]
