# syntax=docker/dockerfile:1
# Multi-stage build: a static (CGO_ENABLED=0) binary in a distroless image, running as non-root.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/lidorub ./cmd/lidorub

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/lidorub /usr/local/bin/lidorub
COPY config.yaml /etc/lidorub/config.yaml
ENV LIDORUB_CONFIG=/etc/lidorub/config.yaml
# Listen on every interface of the container; the gateway then refuses to start until every
# manager has a secret token (LIDORUB_TOKEN_ANNA, LIDORUB_TOKEN_BORIS, LIDORUB_TOKEN_OLGA, LIDORUB_TOKEN_SASHA, ... or your
# own config).
ENV LIDORUB_LISTEN=:8080
# Relative paths in the config (the WhatsApp device store's default data/whatsapp) land in the
# non-root user's home, which is writable; mount a volume there (or at the configured dir) to keep them.
WORKDIR /home/nonroot
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/lidorub"]
CMD ["serve"]
