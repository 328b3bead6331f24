#!/usr/bin/env bash
# Build the local Kubernetes control plane the k8s tests run against, from source with the Go
# toolchain (the Go module proxy is the only place this project fetches Go code from):
#   etcd, kube-apiserver, kubectl, Knative Eventing's and Serving's webhooks, and a copy of
#   Knative's own CRDs and webhook configurations.
# Idempotent: each part is skipped when this exact build is already there (a stamp file).
#
#   bash k8s/tools/install-kube.sh          # -> $BLAZAR_EVENTS_STACK_DIR/bin (default .stack/bin)
#
# None of these projects builds with a plain `go install pkg@version` (their go.mod files carry
# replace directives), so each is built inside a throw-away module kept under <bin>/build.
set -euo pipefail

ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
KNATIVE_VERSION="${KNATIVE_VERSION:-v0.50.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
stack="${BLAZAR_EVENTS_STACK_DIR:-$root/.stack}"
bin_dir="${KUBE_BIN_DIR:-$stack/bin}"
work="$bin_dir/build"

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
    echo "install-kube: the Go toolchain (go) is needed to build the Kubernetes control plane" >&2
    exit 1
fi
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
mkdir -p "$bin_dir" "$work"
# One build at a time (the stack starts its Kubernetes services concurrently).
exec 9>"$bin_dir/.install-kube.lock"
flock 9

# up_to_date NAME BUILD: whether NAME's stamp says BUILD (then the part is skipped).
up_to_date() {
    [[ -f "$bin_dir/.$1-build" && "$(cat "$bin_dir/.$1-build")" == "$2" ]]
}
stamp() { echo "$2" > "$bin_dir/.$1-build"; }

# fresh_module NAME: an empty module directory to build one part in.
fresh_module() {
    rm -rf "${work:?}/$1"
    mkdir -p "$work/$1"
    (cd "$work/$1" && go mod init "local.build/$1" >/dev/null 2>&1)
    echo "$work/$1"
}

# module_file MODULE@VERSION FIELD: a field of `go mod download -json` (GoMod, Dir).
module_file() {
    go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

began=$SECONDS

build="etcd $ETCD_VERSION"
if ! up_to_date etcd "$build"; then
    echo "install-kube: building etcd $ETCD_VERSION (a few minutes once)" >&2
    dir="$(fresh_module etcd)"
    (cd "$dir" && go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
        && go build -trimpath -ldflags "-s -w" -o "$bin_dir/etcd" go.etcd.io/etcd/server/v3)
    stamp etcd "$build"
fi

build="kube $KUBE_VERSION"
if ! up_to_date kube "$build"; then
    echo "install-kube: building kube-apiserver and kubectl $KUBE_VERSION (~10 min once)" >&2
    dir="$(fresh_module kube)"
    # k8s.io/kubernetes points its ~30 staging modules at ./staging; point them at their
    # published tags instead (v1.x.y -> v0.x.y). The sample modules are not published.
    staging="v0${KUBE_VERSION#v1}"
    gomod="$(module_file "k8s.io/kubernetes@$KUBE_VERSION" GoMod)"
    {
        echo "replace ("
        sed -n 's#^[[:space:]]*\(k8s\.io/[a-z-]*\) => \./staging/.*#\t\1 => \1 '"$staging"'#p' "$gomod" \
            | grep -v -e sample-cli-plugin -e sample-controller
        echo ")"
    } >> "$dir/go.mod"
    ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
    ldflags+=" -X k8s.io/component-base/version.gitMajor=1"
    ldflags+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$KUBE_VERSION")"
    (cd "$dir" \
        && go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" \
        && go get -tool "k8s.io/kubernetes/cmd/kubectl@$KUBE_VERSION" \
        && go build -trimpath -ldflags "$ldflags" -o "$bin_dir/" \
            k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
    stamp kube "$build"
fi

# Knative: the two webhooks as binaries, and their config/ folders (CRDs, webhook
# configurations, ConfigMaps) copied out of the module cache.
for part in eventing serving; do
    build="knative-$part $KNATIVE_VERSION"
    up_to_date "knative-$part" "$build" && continue
    echo "install-kube: building Knative $part's webhook $KNATIVE_VERSION (a few minutes once)" >&2
    dir="$(fresh_module "knative-$part")"
    (cd "$dir" \
        && go get -tool "knative.dev/$part/cmd/webhook@$KNATIVE_VERSION" \
        && go build -trimpath -ldflags "-s -w" -o "$bin_dir/knative-$part-webhook" \
            "knative.dev/$part/cmd/webhook")
    source_dir="$(cd "$dir" && module_file "knative.dev/$part@$KNATIVE_VERSION" Dir)"
    rm -rf "$bin_dir/knative/$part"
    mkdir -p "$bin_dir/knative/$part"
    cp -r "$source_dir/config/core" "$bin_dir/knative/$part/"
    chmod -R u+w "$bin_dir/knative/$part"
    stamp "knative-$part" "$build"
done

echo "install-kube: done in $((SECONDS - began))s: $bin_dir" >&2
