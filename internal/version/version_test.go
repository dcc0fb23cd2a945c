package version

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

const commit = "1d38bc6b6c22635f2d253374fa807e9f71ee0bae"

// vcs is what go build records in a git checkout; modified is "true" or "false".
func vcs(modified string) []debug.BuildSetting {
	return []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: commit},
		{Key: "vcs.time", Value: "2026-12-06T23:14:46Z"},
		{Key: "vcs.modified", Value: modified},
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	platform := runtime.GOOS + "/" + runtime.GOARCH
	stamped := Info{Version: "v1.2.3", GitCommit: commit, GitTreeState: TreeClean, BuildDate: "2026-12-06T23:14:46Z"}
	tests := []struct {
		name    string
		stamped Info
		info    *debug.BuildInfo
		want    Info
	}{
		{
			name:    "stamped by make: the toolchain's record is not consulted",
			stamped: stamped,
			info:    &debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: vcs("true")},
			want:    Info{Version: "v1.2.3", GitCommit: commit, GitTreeState: TreeClean, BuildDate: "2026-12-06T23:14:46Z"},
		},
		{
			name:    "go build in a clean checkout since Go 1.24: pseudo-version and commit",
			stamped: Info{},
			info:    &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206231446-1d38bc6b6c22"}, Settings: vcs("false")},
			want:    Info{Version: "v0.0.0-20261206231446-1d38bc6b6c22", GitCommit: commit, GitTreeState: TreeClean},
		},
		{
			name:    "go build with local changes and no module version",
			stamped: Info{},
			info:    &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")},
			want:    Info{Version: "v0.0.0-dev+1d38bc6b6c22-dirty", GitCommit: commit, GitTreeState: TreeDirty},
		},
		{
			name:    "go install at a version records no VCS information",
			stamped: Info{},
			info:    &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
			want:    Info{Version: "v1.2.3"},
		},
		{
			name:    "go run or -buildvcs=false",
			stamped: Info{},
			info:    &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			want:    Info{Version: "v0.0.0-dev"},
		},
		{name: "no build info at all", want: Info{Version: "v0.0.0-dev"}},
		{
			name:    "only the version stamped: the rest from the toolchain",
			stamped: Info{Version: "v1.2.3"},
			info:    &debug.BuildInfo{Settings: vcs("false")},
			want:    Info{Version: "v1.2.3", GitCommit: commit, GitTreeState: TreeClean},
		},
		{
			name: "a short revision is not cut out of range",
			info: &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}},
			want: Info{Version: "v0.0.0-dev+abc", GitCommit: "abc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			want.GoVersion, want.Platform = runtime.Version(), platform
			if got := resolve(tt.stamped, tt.info); got != want {
				t.Errorf("resolve =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		info Info
		want string
	}{
		{
			name: "release",
			info: Info{Version: "v1.2.3", GitCommit: commit, GitTreeState: TreeClean, BuildDate: "2026-12-06T23:14:46Z", GoVersion: "go1.26.8", Platform: "linux/arm64"},
			want: "v1.2.3 (commit " + commit + ", built 2026-12-06T23:14:46Z, go1.26.8 linux/arm64)",
		},
		{
			name: "dirty tree",
			info: Info{Version: "v1.2.3-dirty", GitCommit: commit, GitTreeState: TreeDirty, BuildDate: "2026-12-06T23:14:46Z", GoVersion: "go1.26.8", Platform: "linux/amd64"},
			want: "v1.2.3-dirty (commit " + commit + " with uncommitted changes, built 2026-12-06T23:14:46Z, go1.26.8 linux/amd64)",
		},
		{
			name: "go run: nothing known but the toolchain",
			info: Info{Version: "v0.0.0-dev", GoVersion: "go1.26.8", Platform: "linux/amd64"},
			want: "v0.0.0-dev (commit unknown, go1.26.8 linux/amd64)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.info.String(); got != tt.want {
				t.Errorf("String() = %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestLdflagsStampGet links a binary with the -X flags the Makefile and tools/images pass: a
// variable renamed, made a constant or initialised by a call would be left unset without any
// error from the linker.
func TestLdflagsStampGet(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("links a binary")
	}
	const pkg = "github.com/cloudlb/cloudlb/internal/version"
	want := Info{Version: "v1.2.3-4-gabcdef1-dirty", GitCommit: commit, GitTreeState: TreeDirty, BuildDate: "2026-12-06T23:14:46Z"}
	ldflags := strings.Join([]string{
		"-X " + pkg + ".gitVersion=" + want.Version,
		"-X " + pkg + ".gitCommit=" + want.GitCommit,
		"-X " + pkg + ".gitTreeState=" + want.GitTreeState,
		"-X " + pkg + ".buildDate=" + want.BuildDate,
	}, " ")
	bin := filepath.Join(t.TempDir(), "stamped")
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, "./testdata/stamped").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	var got Info
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output is not an Info: %v\n%s", err, out)
	}
	want.GoVersion, want.Platform = runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH
	if got != want {
		t.Errorf("stamped binary reports\n%+v\nwant\n%+v", got, want)
	}
}
