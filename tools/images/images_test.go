package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

var amd64 = platform{OS: "linux", Arch: "amd64"}

// TestNodeproxyImage builds the linux/amd64 image of the node agent from the checkout as
// make images does, reads it back from the layout and runs the binary it holds. Only one
// binary and one platform: with the build cache of make build (same flags), this is a link.
func TestNodeproxyImage(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds cloudlb-nodeproxy")
	}
	const name = "cloudlb-nodeproxy"
	ctx := t.Context()
	repo := repoRoot(t)
	st, err := gitStamp(ctx, repo, stamp{})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	o := options{Repo: repo, Out: out, Binaries: []string{name}, Platforms: []platform{amd64}, Stamp: st, Source: defaultSource}
	res, err := buildImages(ctx, o, io.Discard)
	if err != nil {
		t.Fatalf("buildImages: %v", err)
	}

	// The layout: one index, tagged with the version, whose digest is the one printed.
	root, err := layout.ImageIndexFromPath(filepath.Join(out, name))
	if err != nil {
		t.Fatalf("read layout: %v", err)
	}
	rootManifest, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(rootManifest.Manifests) != 1 {
		t.Fatalf("layout holds %d entries, want 1 index", len(rootManifest.Manifests))
	}
	desc := rootManifest.Manifests[0]
	if desc.MediaType != types.OCIImageIndex || desc.Digest != res[0].Index || desc.Annotations[annotationRefName] != st.Version {
		t.Errorf("layout entry %s %s ref %q, want %s %s ref %q", desc.MediaType, desc.Digest, desc.Annotations[annotationRefName], types.OCIImageIndex, res[0].Index, st.Version)
	}
	idx, err := root.ImageIndex(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		annotationTitle:    name,
		annotationSource:   defaultSource,
		annotationRevision: st.Commit,
		annotationVersion:  st.Version,
		annotationCreated:  st.Created.UTC().Format(time.RFC3339),
	}
	checkLabels(t, "index annotation", im.Annotations, wantLabels)
	if len(im.Manifests) != 1 || im.Manifests[0].Platform == nil || im.Manifests[0].Platform.OS != "linux" || im.Manifests[0].Platform.Architecture != "amd64" {
		t.Fatalf("index manifests %+v, want one for linux/amd64", im.Manifests)
	}

	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, "manifest annotation", m.Annotations, wantLabels)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	checkLabels(t, "label", cfg.Config.Labels, wantLabels)
	if cfg.Config.User != "65532:65532" {
		t.Errorf("User = %q, want 65532:65532", cfg.Config.User)
	}
	if want := []string{"/usr/local/bin/" + name}; !slices.Equal(cfg.Config.Entrypoint, want) {
		t.Errorf("Entrypoint = %q, want %q", cfg.Config.Entrypoint, want)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("config platform %s/%s, want linux/amd64", cfg.OS, cfg.Architecture)
	}
	if !cfg.Created.Equal(st.Created) {
		t.Errorf("created %s, want the commit time %s", cfg.Created.Time, st.Created)
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	if mt, _ := layers[0].MediaType(); mt != types.OCILayer {
		t.Errorf("layer media type %s, want %s", mt, types.OCILayer)
	}
	files := readLayer(t, layers[0], st.Created)
	if !bytes.Equal(files[caBundlePath], caBundle()) {
		t.Errorf("%s is not the x509roots/fallback bundle", caBundlePath)
	}
	if !strings.Contains(string(files["etc/passwd"]), "nonroot:x:65532:65532:") || !strings.Contains(string(files["etc/group"]), "nonroot:x:65532:") {
		t.Errorf("/etc/passwd or /etc/group lacks the non-root user:\n%s%s", files["etc/passwd"], files["etc/group"])
	}
	binary := files["usr/local/bin/"+name]
	if len(binary) == 0 {
		t.Fatalf("the layer has no usr/local/bin/%s", name)
	}

	if runtime.GOOS != amd64.OS || runtime.GOARCH != amd64.Arch {
		t.Skipf("the binary is for linux/amd64, this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	bin := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(bin, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", name, err)
	}
	// The rest of the line is internal/version's to test.
	wantPrefix := name + " " + st.Version + " (commit " + st.Commit
	wantBuilt := "built " + st.Created.UTC().Format(time.RFC3339) + ", "
	if !strings.HasPrefix(string(got), wantPrefix) || !strings.Contains(string(got), wantBuilt) || !strings.HasSuffix(string(got), " linux/amd64)\n") {
		t.Errorf("--version printed %q, want %q... with %q and linux/amd64", got, wantPrefix, wantBuilt)
	}
}

// TestImageIsReproducible: assembling the same binary with the same stamp twice gives the same
// digests, and the stamp's time is what tells two builds apart (so the first half can fail).
func TestImageIsReproducible(t *testing.T) {
	t.Parallel()
	st := stamp{Version: "v1.2.3", Commit: "1d38bc6b6c22635f2d253374fa807e9f71ee0bae", TreeState: "clean", Created: time.Unix(1796602875, 0).UTC()}
	binary := []byte("\x7fELF not really a binary")
	ca := caBundle()
	digest := func(st stamp) (v1.Hash, v1.Hash) {
		t.Helper()
		anns := labels("cloudlb-nodeproxy", st, defaultSource, "")
		var images []platformImage
		for _, p := range []platform{amd64, {OS: "linux", Arch: "arm64"}} {
			img, err := imageFor("cloudlb-nodeproxy", p, binary, ca, st, anns)
			if err != nil {
				t.Fatal(err)
			}
			images = append(images, platformImage{platform: p, image: img})
		}
		idx, err := indexFor(images, anns).Digest()
		if err != nil {
			t.Fatal(err)
		}
		img, err := images[0].image.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return idx, img
	}
	idx1, img1 := digest(st)
	idx2, img2 := digest(st)
	if idx1 != idx2 || img1 != img2 {
		t.Errorf("two assemblies differ: index %s and %s, image %s and %s", idx1, idx2, img1, img2)
	}
	later := st
	later.Created = later.Created.Add(time.Second)
	if idx3, _ := digest(later); idx3 == idx1 {
		t.Errorf("a later SOURCE_DATE_EPOCH gives the same index %s", idx3)
	}
}

// TestLayerHeadersAreNormalised: nothing of the machine that built a layer is in it.
func TestLayerHeadersAreNormalised(t *testing.T) {
	t.Parallel()
	mtime := time.Date(2026, 12, 6, 23, 14, 46, 500, time.UTC) // sub-second: truncated
	gz, err := gzipLayer(entries("cloudlb", []byte("binary"), []byte("certs")), mtime)
	if err != nil {
		t.Fatal(err)
	}
	files := readTar(t, bytes.NewReader(gz), mtime.Truncate(time.Second), true)
	for _, want := range []string{"etc/passwd", "etc/group", caBundlePath, "usr/local/bin/cloudlb"} {
		if _, ok := files[want]; !ok {
			t.Errorf("layer has no %s", want)
		}
	}
}

func TestCABundle(t *testing.T) {
	t.Parallel()
	var parsed, constrained int
	rest := caBundle()
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Fatalf("certificate %d: %v", parsed, err)
		}
		parsed++
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		t.Errorf("%d bytes after the last certificate", len(rest))
	}
	total := 0
	for r := range bundle.Roots() {
		total++
		if r.Constraint != nil {
			constrained++
		}
	}
	if parsed != total-constrained || parsed < 100 {
		t.Errorf("bundle holds %d certificates, want the %d of %d roots without a constraint", parsed, total-constrained, total)
	}
}

func TestDescribeVersion(t *testing.T) {
	t.Parallel()
	const commit = "1d38bc6b6c22635f2d253374fa807e9f71ee0bae"
	for _, tc := range []struct {
		describe string
		dirty    bool
		want     string
	}{
		{"", false, "v0.0.0-dev+1d38bc6b6c22"},
		{"", true, "v0.0.0-dev+1d38bc6b6c22-dirty"},
		{"v1.2.3", false, "v1.2.3"},
		{"v1.2.3-4-g1d38bc6", true, "v1.2.3-4-g1d38bc6-dirty"},
	} {
		if got := describeVersion(tc.describe, commit, tc.dirty); got != tc.want {
			t.Errorf("describeVersion(%q, dirty %v) = %q, want %q", tc.describe, tc.dirty, got, tc.want)
		}
	}
}

func TestParsePlatforms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    []platform
		wantErr bool
	}{
		{in: "linux/amd64,linux/arm64", want: []platform{amd64, {OS: "linux", Arch: "arm64"}}},
		{in: " linux/arm64 ", want: []platform{{OS: "linux", Arch: "arm64"}}},
		{in: "darwin/arm64", wantErr: true}, // the image is a Linux file system
		{in: "amd64", wantErr: true},
		{in: "linux/arm/v7", wantErr: true},
	} {
		got, err := parsePlatforms(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("parsePlatforms(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestStampFlagsWin(t *testing.T) {
	t.Parallel()
	given := stamp{Version: "v9.9.9", Commit: "abc", TreeState: "clean", Created: time.Unix(1, 0).UTC()}
	got, err := gitStamp(context.Background(), repoRoot(t), given)
	if err != nil {
		t.Fatal(err)
	}
	if got != given {
		t.Errorf("gitStamp replaced given values: %+v, want %+v", got, given)
	}
	if _, err := parseEpoch("yesterday"); err == nil {
		t.Error("parseEpoch accepted a non-number")
	}
}

// repoRoot is the cloudlb checkout this module lies in.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse --show-toplevel: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// checkLabels compares the OCI annotations of want with got; description may be there too.
func checkLabels(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s %s = %q, want %q", what, k, got[k], v)
		}
	}
}

// readLayer is the regular files of l by path, after checking every header.
func readLayer(t *testing.T, l v1.Layer, mtime time.Time) map[string][]byte {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return readTar(t, rc, mtime, false)
}

// readTar reads a layer (gzipped when gz) and checks that every header is normalised: time
// mtime, numeric root owner (the non-root user's home aside), no names, no PAX records.
func readTar(t *testing.T, r io.Reader, mtime time.Time, gz bool) map[string][]byte {
	t.Helper()
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		wantID := 0
		if hdr.Name == nonRootHome {
			wantID = nonRootID
		}
		if hdr.Uid != wantID || hdr.Gid != wantID || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: owner %d:%d (%q:%q), want %d:%d without names", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, wantID, wantID)
		}
		if !hdr.ModTime.Equal(mtime) || len(hdr.PAXRecords) > 0 {
			t.Errorf("%s: mtime %s, PAX %v; want %s and none", hdr.Name, hdr.ModTime, hdr.PAXRecords, mtime)
		}
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[hdr.Name] = b
		}
	}
	return files
}
