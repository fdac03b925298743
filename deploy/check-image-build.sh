#!/usr/bin/env bash
# CI has no Docker daemon, so it reproduces the Dockerfile's build stage
# (deploy/build.sh) and checks what the runtime stage relies on: the binary
# is static (distroless/static has no libc), carries the version it was
# built with, and serves as the image's non-root user.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -q 'sh deploy/build.sh /out/gateway' Dockerfile || { echo "Dockerfile no longer builds with deploy/build.sh"; exit 1; }
grep -q '^USER 65532:65532' Dockerfile || { echo "Dockerfile does not run as the non-root user 65532"; exit 1; }

work=$(mktemp -d /tmp/image-build.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
version="ci-$(date +%s)"
VERSION="$version" REVISION=0123abc sh deploy/build.sh "$work/gateway"

desc=$(file -b "$work/gateway")
echo "$desc"
case "$desc" in *"statically linked"*) ;; *) echo "not a static binary"; exit 1 ;; esac
if ldd "$work/gateway" >/dev/null 2>&1; then echo "ldd finds dynamic dependencies"; exit 1; fi

chmod 755 "$work"
as_nonroot=(setpriv --reuid=65532 --regid=65532 --clear-groups)
got=$("${as_nonroot[@]}" "$work/gateway" -version)
[ "$got" = "gateway $version 0123abc" ] || { echo "-version printed '$got', want 'gateway $version 0123abc'"; exit 1; }

# Serve as uid 65532 with nothing writable but its own directory (as in the
# image with readOnlyRootFilesystem), until /readyz answers.
mkdir "$work/home" && chown 65532:65532 "$work/home"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HOME="$work/home" GATEWAY_ADDR="127.0.0.1:$port" "${as_nonroot[@]}" "$work/gateway" -dev >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/readyz"; echo
curl -fsS "http://127.0.0.1:$port/metrics" | grep "^gateway_build_info{.*version=\"$version\"" \
  || { echo "build_info lacks the injected version"; cat "$work/err"; exit 1; }
kill "$pid"; wait "$pid" || true; pid=
echo "image build reproduced: static, version $version, serves as uid 65532"
