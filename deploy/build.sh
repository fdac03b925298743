#!/bin/sh
# The release build, used by the Dockerfile and reproduced by CI: a static
# (CGO_ENABLED=0), trimmed binary with the version stamped in.
#   VERSION=v1.2.3 REVISION=abc123 deploy/build.sh OUTPUT
set -eu
out=${1:?usage: deploy/build.sh OUTPUT}
pkg=github.com/partnerhub/gateway/internal/buildinfo
# The version comes from VERSION/REVISION, not from VCS stamping, which
# fails in a build context without a usable .git.
CGO_ENABLED=0 go build -trimpath -buildvcs=false \
  -ldflags "-s -w -X $pkg.Version=${VERSION:-dev} -X $pkg.Revision=${REVISION:-}" \
  -o "$out" ./cmd/gateway
