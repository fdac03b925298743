# syntax=docker/dockerfile:1
# Build: a static binary, no cgo, reproducible paths.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/gateway ./cmd/gateway

# Run: distroless static, non-root, nothing but the binary and CA roots.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gateway /gateway
USER nonroot:nonroot
EXPOSE 8080
ENV GATEWAY_ADDR=:8080
ENTRYPOINT ["/gateway"]
