package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestVersionString(t *testing.T) {
	t.Parallel()
	goVersion := " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "1d38bc6b6c22635f2d253374fa807e9f71ee0bae"},
			{Key: "vcs.time", Value: "2026-12-06T23:14:46Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	tests := []struct {
		name    string
		release string
		info    *debug.BuildInfo
		want    string
	}{
		{
			name:    "built in a clean checkout",
			release: "devel",
			info:    &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206231446-1d38bc6b6c22"}, Settings: vcs("false")},
			want:    "devel (revision 1d38bc6b6c22635f2d253374fa807e9f71ee0bae, committed 2026-12-06T23:14:46Z)" + goVersion,
		},
		{
			name:    "release with local changes",
			release: "v1.2.3",
			info:    &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")},
			want:    "v1.2.3 (revision 1d38bc6b6c22635f2d253374fa807e9f71ee0bae, modified, committed 2026-12-06T23:14:46Z)" + goVersion,
		},
		{
			name:    "go install at a version",
			release: "devel",
			info:    &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
			want:    "devel (module v1.2.3)" + goVersion,
		},
		{
			name:    "-buildvcs=false",
			release: "devel",
			info:    &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}},
			want:    "devel (no VCS information)" + goVersion,
		},
		{name: "no build info", release: "devel", want: "devel (no VCS information)" + goVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := versionString(tt.release, tt.info); got != tt.want {
				t.Errorf("versionString = %q\nwant %q", got, tt.want)
			}
		})
	}
}
