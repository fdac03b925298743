# syntax=docker/dockerfile:1
# docker build --build-arg VERSION=v1.2.3 --build-arg REVISION=$(git rev-parse HEAD) -t gateway .
# Build: a static binary, no cgo, reproducible paths; deploy/build.sh is
# the one build command (CI runs it too, since it has no Docker daemon).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=
RUN VERSION="$VERSION" REVISION="$REVISION" sh deploy/build.sh /out/gateway

# Run: distroless static, non-root, nothing but the binary and CA roots.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gateway /gateway
USER 65532:65532
EXPOSE 8080
ENV GATEWAY_ADDR=:8080
ENTRYPOINT ["/gateway"]
