#!/usr/bin/env bash
# Install the helm binary the chart tests use into .stack/bin, built from source with the
# Go toolchain (the Go module proxy is the only place this project fetches Go code from).
# Idempotent: does nothing when the pinned version is already there.
#
#   bash k8s/tools/install-helm.sh            # -> .stack/bin/helm
#   HELM_BIN_DIR=/usr/local/bin bash k8s/tools/install-helm.sh
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin_dir="${HELM_BIN_DIR:-$root/.stack/bin}"
helm="$bin_dir/helm"

if [[ -x "$helm" ]] && "$helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; then
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "install-helm: the Go toolchain (go) is needed to build helm $HELM_VERSION" >&2
    exit 1
fi
mkdir -p "$bin_dir"
echo "install-helm: building helm $HELM_VERSION into $bin_dir (takes a few minutes once)" >&2
# The version string helm prints is set at link time; `go install` alone would say "v3.x-dev"
# style defaults, so pass it like helm's own Makefile does.
GOBIN="$bin_dir" GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
"$helm" version --short
