#!/usr/bin/env bash
# Install the helm binary the chart tests use into .stack/bin, built from source with the
# Go toolchain (the Go module proxy is the only place this project fetches Go code from).
# Idempotent: does nothing when this exact build is already there.
#
#   bash k8s/tools/install-helm.sh            # -> .stack/bin/helm
#   HELM_BIN_DIR=/usr/local/bin bash k8s/tools/install-helm.sh
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# The Kubernetes version helm assumes without a cluster (`helm lint`, `helm install
# --dry-run=client`): helm's own Makefile derives it from its client-go (v0.37 -> 1.37).
HELM_K8S_MINOR="${HELM_K8S_MINOR:-37}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin_dir="${HELM_BIN_DIR:-$root/.stack/bin}"
helm="$bin_dir/helm"
stamp="$bin_dir/.helm-build"
build="$HELM_VERSION k8s=1.$HELM_K8S_MINOR"

if [[ -x "$helm" && -f "$stamp" && "$(cat "$stamp")" == "$build" ]]; then
    exit 0
fi
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
    echo "install-helm: the Go toolchain (go) is needed to build helm $HELM_VERSION" >&2
    exit 1
fi
mkdir -p "$bin_dir"
echo "install-helm: building helm $HELM_VERSION into $bin_dir (takes a few minutes once)" >&2
# `go install` alone leaves the version and the default Kubernetes version at their
# placeholders (helm would call itself v3.22 and the cluster v1.20); set them as helm's
# Makefile does.
pkg="helm.sh/helm/v3"
ldflags="-s -w -X $pkg/internal/version.version=$HELM_VERSION"
for var in pkg/chartutil pkg/lint/rules; do
    ldflags+=" -X $pkg/$var.k8sVersionMajor=1 -X $pkg/$var.k8sVersionMinor=$HELM_K8S_MINOR"
done
GOBIN="$bin_dir" GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0 \
    go install -trimpath -ldflags "$ldflags" "$pkg/cmd/helm@$HELM_VERSION"
echo "$build" > "$stamp"
"$helm" version --short
