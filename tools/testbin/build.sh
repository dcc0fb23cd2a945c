#!/usr/bin/env bash
# Builds the real kube-apiserver and etcd used by integration tests and the demo into $1
# (default bin/testbin), and skips the build when the binaries there were built from the
# versions pinned in tools/testbin/go.mod.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../bin/testbin}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$here"
kube=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
want="kube-apiserver $kube
etcd $etcd
go $(go env GOVERSION)"
if [[ -x $out/kube-apiserver && -x $out/etcd && -f $out/VERSIONS && "$(cat "$out/VERSIONS")" == "$want" ]]; then
	echo "testbin: kube-apiserver $kube and etcd $etcd already in $out"
	exit 0
fi
rm -f "$out/VERSIONS"
minor=${kube#v1.}; minor=${minor%%.*}
start=$SECONDS
go build -o "$out/etcd" ./etcd
echo "testbin: etcd $etcd built in $((SECONDS - start))s"
start=$SECONDS
pkg=k8s.io/component-base/version
go build -o "$out/kube-apiserver" \
	-ldflags "-X $pkg.gitVersion=$kube -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
	k8s.io/kubernetes/cmd/kube-apiserver
echo "testbin: kube-apiserver $kube built in $((SECONDS - start))s"
printf '%s\n' "$want" >"$out/VERSIONS"
