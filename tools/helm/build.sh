#!/usr/bin/env bash
# Builds the real helm and kustomize that integration/deploy renders charts/cloudlb and the
# deploy/ overlays with into $1 (default bin/testbin), and skips the build when the binaries there
# were built from the versions pinned in tools/helm/go.mod. Its stamp is VERSIONS.helm, so that
# tools/testbin/build.sh (VERSIONS) and this script can share one directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../bin/testbin}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$here"
helm=$(go list -m -f '{{.Version}}' helm.sh/helm/v4)
kustomize=$(go list -m -f '{{.Version}}' sigs.k8s.io/kustomize/kustomize/v5)
want="helm $helm
kustomize $kustomize
go $(go env GOVERSION)"
stamp=$out/VERSIONS.helm
if [[ -x $out/helm && -x $out/kustomize && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
	echo "helm: helm $helm and kustomize $kustomize already in $out"
	exit 0
fi
rm -f "$stamp"
start=$SECONDS
# As helm's own Makefile stamps a release build; without it `helm version` says v4.3.
go build -trimpath -o "$out/helm" \
	-ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$helm -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
	helm.sh/helm/v4/cmd/helm
echo "helm: helm $helm built in $((SECONDS - start))s"
start=$SECONDS
# kustomize reads its version from the module's build info.
go build -trimpath -o "$out/kustomize" -ldflags "-s -w" sigs.k8s.io/kustomize/kustomize/v5
echo "helm: kustomize $kustomize built in $((SECONDS - start))s"
printf '%s\n' "$want" >"$stamp"
