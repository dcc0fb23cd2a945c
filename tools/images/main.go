// Command images builds cloudlb's container images without a container daemon or a base image
// (make images): static binaries of the checkout for each platform, each in one layer with a
// CA bundle and a non-root user, a multi-platform index per binary, written as an OCI image
// layout in <out>/<binary>/ for crane push. One commit gives the same digests on any machine
// with the same Go: every time is the commit time (SOURCE_DATE_EPOCH), the CA bundle comes
// from a Go module, and nothing else is read from the host.
//
//	cd tools/images && go run . [-binaries cloudlb-controller-manager,cloudlb-nodeproxy] [-platforms linux/amd64,linux/arm64] [-out DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// defaultSource is org.opencontainers.image.source.
const defaultSource = "https://github.com/cloudlb/cloudlb"

// options are the command's flags, resolved.
type options struct {
	Repo      string // the cloudlb checkout
	Out       string // one OCI layout per binary is written in Out/<binary>
	Binaries  []string
	Platforms []platform
	Stamp     stamp
	Source    string
	Licenses  string // SPDX; "" leaves the label out
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "images: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	fs.SetOutput(stderr)
	repo := fs.String("repo", "", "the cloudlb checkout (default: the git top level of the current directory)")
	out := fs.String("out", "", "directory of the OCI layouts, one per binary (default: <repo>/bin/images)")
	binaries := fs.String("binaries", "cloudlb-controller-manager,cloudlb-nodeproxy", "binaries under cmd/ to build an image of")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "platforms of each image")
	source := fs.String("source", defaultSource, "org.opencontainers.image.source")
	var st stamp
	fs.StringVar(&st.Version, "version", "", "version to stamp (default: git describe --tags, or v0.0.0-dev+<commit>; -dirty with local changes)")
	fs.StringVar(&st.Commit, "commit", "", "commit to stamp (default: HEAD)")
	fs.StringVar(&st.TreeState, "tree-state", "", "clean or dirty (default: from git status)")
	epoch := fs.String("source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "Unix time of every file, the images' creation and the build date (default: $SOURCE_DATE_EPOCH, else the commit time)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o := options{Repo: *repo, Out: *out, Source: *source}
	if o.Repo == "" {
		top, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			return fmt.Errorf("find the checkout (or pass -repo): %w", err)
		}
		o.Repo = strings.TrimSpace(string(top))
	}
	if o.Out == "" {
		o.Out = filepath.Join(o.Repo, "bin", "images")
	}
	o.Binaries = strings.Split(*binaries, ",")
	var err error
	if o.Platforms, err = parsePlatforms(*platforms); err != nil {
		return err
	}
	if *epoch != "" {
		if st.Created, err = parseEpoch(*epoch); err != nil {
			return fmt.Errorf("-source-date-epoch: %w", err)
		}
	}
	if o.Stamp, err = gitStamp(ctx, o.Repo, st); err != nil {
		return err
	}
	o.Licenses = licenseOf(o.Repo)
	if _, err := os.Stat(filepath.Join(o.Repo, "LICENSE")); err == nil && o.Licenses == "" {
		fmt.Fprintln(stderr, "images: LICENSE is not one this tool recognises; org.opencontainers.image.licenses left out")
	}

	fmt.Fprintf(stderr, "images: %s (commit %s, %s), created %s\n", o.Stamp.Version, o.Stamp.Commit, o.Stamp.TreeState, o.Stamp.Created.Format("2006-01-02T15:04:05Z"))
	built, err := buildImages(ctx, o, stderr)
	if err != nil {
		return err
	}
	for _, b := range built {
		var per []string
		for _, p := range o.Platforms {
			per = append(per, p.String()+" "+b.Images[p].String())
		}
		fmt.Fprintf(stdout, "%s %s (%s)\n", b.Dir, b.Index, strings.Join(per, ", "))
	}
	return nil
}

// built is one binary's index, written to Dir.
type built struct {
	Name   string
	Dir    string
	Index  v1.Hash
	Images map[platform]v1.Hash
}

// buildImages builds o.Binaries for every platform and writes one layout per binary.
func buildImages(ctx context.Context, o options, log io.Writer) ([]built, error) {
	if len(o.Binaries) == 0 || len(o.Platforms) == 0 {
		return nil, errors.New("nothing to build")
	}
	tmp, err := os.MkdirTemp("", "cloudlb-images-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	ca := caBundle()
	images := map[string][]platformImage{}
	for _, p := range o.Platforms {
		dir := filepath.Join(tmp, p.OS+"_"+p.Arch)
		if err := goBuild(ctx, o.Repo, dir, p, o.Binaries, o.Stamp, log); err != nil {
			return nil, err
		}
		for _, name := range o.Binaries {
			binary, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return nil, err
			}
			img, err := imageFor(name, p, binary, ca, o.Stamp, labels(name, o.Stamp, o.Source, o.Licenses))
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", name, p, err)
			}
			images[name] = append(images[name], platformImage{platform: p, image: img})
		}
	}
	var out []built
	for _, name := range o.Binaries {
		idx := indexFor(images[name], labels(name, o.Stamp, o.Source, o.Licenses))
		b := built{Name: name, Dir: filepath.Join(o.Out, name), Images: map[platform]v1.Hash{}}
		if b.Index, err = idx.Digest(); err != nil {
			return nil, err
		}
		for _, pi := range images[name] {
			if b.Images[pi.platform], err = pi.image.Digest(); err != nil {
				return nil, err
			}
		}
		if err := writeLayout(b.Dir, idx, o.Stamp.Version); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// goBuild builds the binaries for p into dir: static (no cgo, so no libc to ship), without
// local paths (-trimpath) or VCS stamping of the go command (-buildvcs=false: the -X flags say
// it, and a dirty tree would otherwise differ by its status), stamped by ldflags.
func goBuild(ctx context.Context, repo, dir string, p platform, names []string, st stamp, log io.Writer) error {
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", st.ldflags(), "-o", dir + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./cmd/"+n)
	}
	fmt.Fprintf(log, "images: go build %s for %s\n", strings.Join(names, " "), p)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repo
	// The microarchitecture levels are pinned: a GOAMD64=v3 in someone's environment would
	// build other bytes under the same tag.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch, "GOAMD64=v1", "GOARM64=v8.0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w", p, err)
	}
	return nil
}
