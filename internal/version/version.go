// Package version says which build of cloudlb is running: the release, commit, tree state and
// build date that `make build` and tools/images stamp with -ldflags -X, or, in a binary built
// without them (go build, go run, go install), what the Go toolchain recorded.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set with -ldflags "-X github.com/cloudlb/cloudlb/internal/version.gitVersion=v1.2.3 ...".
// Package-level variables because -X can set nothing else; never written at run time.
var (
	// gitVersion is `git describe --tags --always --dirty`, or v0.0.0-dev+<commit> without tags.
	gitVersion string
	// gitCommit is the full commit hash.
	gitCommit string
	// gitTreeState is "clean" or "dirty" (uncommitted changes were built).
	gitTreeState string
	// buildDate is RFC 3339 UTC. The Makefile sets it from SOURCE_DATE_EPOCH, by default the
	// commit time, so that one commit always builds the same bytes.
	buildDate string
)

// Tree states.
const (
	TreeClean = "clean"
	TreeDirty = "dirty"
)

// devVersion is the version of a build that knows no better: semver-valid, sorting before
// every release, and never upstream's "v0.0.0-master+$Format:%H$".
const devVersion = "v0.0.0-dev"

// shortCommitLen is as long as the commit in a Go pseudo-version, so both name a commit alike.
const shortCommitLen = 12

// Info describes a build. The JSON names are `cloudlb version -o json`'s output.
type Info struct {
	// Version is the release, e.g. v1.2.3, v1.2.3-4-gabcdef1-dirty or v0.0.0-dev+abcdef123456.
	Version string `json:"version"`
	// GitCommit is the full commit hash; empty when unknown.
	GitCommit string `json:"gitCommit,omitempty"`
	// GitTreeState is TreeClean, TreeDirty or empty when unknown.
	GitTreeState string `json:"gitTreeState,omitempty"`
	// BuildDate is RFC 3339; empty when not stamped.
	BuildDate string `json:"buildDate,omitempty"`
	// GoVersion is the toolchain that built the binary, e.g. go1.26.8.
	GoVersion string `json:"goVersion"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Get is this binary's build.
func Get() Info {
	info, _ := debug.ReadBuildInfo() // nil without build info; resolve copes
	return resolve(Info{Version: gitVersion, GitCommit: gitCommit, GitTreeState: gitTreeState, BuildDate: buildDate}, info)
}

// resolve completes what -ldflags stamped with what the toolchain recorded in info (nil when
// the binary has none). Each field falls back on its own, so a partial -X set stays true.
func resolve(stamped Info, info *debug.BuildInfo) Info {
	settings := map[string]string{}
	if info != nil {
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
	}
	out := stamped
	if out.GitCommit == "" {
		out.GitCommit = settings["vcs.revision"]
	}
	if out.GitTreeState == "" {
		switch settings["vcs.modified"] {
		case "true":
			out.GitTreeState = TreeDirty
		case "false":
			out.GitTreeState = TreeClean
		}
	}
	if out.Version == "" {
		out.Version = fallbackVersion(info, out.GitCommit, out.GitTreeState)
	}
	out.GoVersion = runtime.Version()
	out.Platform = runtime.GOOS + "/" + runtime.GOARCH
	return out
}

// fallbackVersion is the version of a build without -X: the module version the go command
// recorded (go install ...@v1.2.3; since Go 1.24 also go build, from the tags, unless
// -buildvcs=false), else a dev version naming the commit when it is known.
func fallbackVersion(info *debug.BuildInfo, commit, treeState string) string {
	if info != nil && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	if commit == "" {
		return devVersion
	}
	v := devVersion + "+" + commit[:min(len(commit), shortCommitLen)]
	if treeState == TreeDirty {
		v += "-dirty" // as git describe --dirty marks it
	}
	return v
}

// String is the one-line form --version prints after the binary's name:
// "v1.2.3 (commit 1d38bc6b…, built 2026-12-06T23:14:46Z, go1.26.8 linux/amd64)".
func (i Info) String() string {
	var details []string
	switch {
	case i.GitCommit == "":
		details = append(details, "commit unknown")
	case i.GitTreeState == TreeDirty:
		details = append(details, "commit "+i.GitCommit+" with uncommitted changes")
	default:
		details = append(details, "commit "+i.GitCommit)
	}
	if i.BuildDate != "" {
		details = append(details, "built "+i.BuildDate)
	}
	details = append(details, i.GoVersion+" "+i.Platform)
	return fmt.Sprintf("%s (%s)", i.Version, strings.Join(details, ", "))
}
