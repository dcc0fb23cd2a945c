package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OCI annotation keys (github.com/opencontainers/image-spec/specs-go/v1), used as image labels
// and as manifest and index annotations.
const (
	annotationTitle       = "org.opencontainers.image.title"
	annotationDescription = "org.opencontainers.image.description"
	annotationSource      = "org.opencontainers.image.source"
	annotationRevision    = "org.opencontainers.image.revision"
	annotationVersion     = "org.opencontainers.image.version"
	annotationCreated     = "org.opencontainers.image.created"
	annotationLicenses    = "org.opencontainers.image.licenses"
	annotationRefName     = "org.opencontainers.image.ref.name"
)

// descriptions are the binaries' org.opencontainers.image.description.
var descriptions = map[string]string{
	"cloudlb-controller-manager": "cloudlb's cloud-controller-manager: Services of type LoadBalancer as cloud load balancers",
	"cloudlb-nodeproxy":          "cloudlb's node agent: kube-proxy-compatible health checks for externalTrafficPolicy: Local Services",
	"cloudlb":                    "cloudlb's CLI: lint and plan Service manifests offline",
}

// platform is an image's OS and architecture; only linux is built.
type platform struct{ OS, Arch string }

func (p platform) String() string { return p.OS + "/" + p.Arch }

// parsePlatforms reads "linux/amd64,linux/arm64".
func parsePlatforms(s string) ([]platform, error) {
	var ps []platform
	for _, f := range strings.Split(s, ",") {
		os, arch, ok := strings.Cut(strings.TrimSpace(f), "/")
		if !ok || os != "linux" || arch == "" || strings.Contains(arch, "/") {
			return nil, fmt.Errorf("platform %q: want linux/<arch>, e.g. linux/arm64", f)
		}
		ps = append(ps, platform{OS: os, Arch: arch})
	}
	return ps, nil
}

// labels are the OCI annotations of one binary's images and index; licenses is an SPDX
// expression, "" when the repository declares none.
func labels(name string, st stamp, source, licenses string) map[string]string {
	l := map[string]string{
		annotationTitle:    name,
		annotationSource:   source,
		annotationRevision: st.Commit,
		annotationVersion:  st.Version,
		annotationCreated:  st.Created.UTC().Format(time.RFC3339),
	}
	if d := descriptions[name]; d != "" {
		l[annotationDescription] = d
	}
	if licenses != "" {
		l[annotationLicenses] = licenses
	}
	return l
}

// imageFor is the image of one binary for one platform: a single layer on nothing at all.
func imageFor(name string, p platform, binary, caBundle []byte, st stamp, anns map[string]string) (v1.Image, error) {
	gz, err := gzipLayer(entries(name, binary, caBundle), st.Created)
	if err != nil {
		return nil, fmt.Errorf("%s layer: %w", name, err)
	}
	// Already compressed: go-containerregistry keeps these bytes instead of gzipping again
	// with its own settings.
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: st.Created}
	cfg := &v1.ConfigFile{
		Architecture: p.Arch,
		OS:           p.OS,
		Created:      created,
		Config: v1.Config{
			User:       nonRootUser,
			Entrypoint: []string{"/" + binDir + name},
			Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
			WorkingDir: "/",
			Labels:     anns,
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   created,
			CreatedBy: "cloudlb tools/images: " + name + ", CA bundle, passwd and group",
		},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, anns).(v1.Image), nil
}

// platformImage is one entry of an index.
type platformImage struct {
	platform platform
	image    v1.Image
}

// indexFor is the multi-platform index of one binary's images.
func indexFor(images []platformImage, anns map[string]string) v1.ImageIndex {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, pi := range images {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        pi.image,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: pi.platform.OS, Architecture: pi.platform.Arch}},
		})
	}
	return mutate.Annotations(idx, anns).(v1.ImageIndex)
}

// writeLayout replaces dir with an OCI image layout holding idx, tagged refName. It is
// written next to dir and renamed, so dir holds either the old layout or the new one.
func writeLayout(dir string, idx v1.ImageIndex, refName string) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // after a successful rename, nothing is left there
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{annotationRefName: refName})); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// licenseOf is the SPDX identifier of the repository's LICENSE file, "" when there is none
// or it is not one this tool recognises (then the label is left out rather than guessed).
func licenseOf(repo string) string {
	b, err := os.ReadFile(filepath.Join(repo, "LICENSE"))
	if err != nil {
		return ""
	}
	text := string(b)
	switch {
	case strings.Contains(text, "Apache License") && strings.Contains(text, "Version 2.0"):
		return "Apache-2.0"
	case strings.HasPrefix(strings.TrimSpace(text), "MIT License"):
		return "MIT"
	}
	return ""
}
