package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version is the release, stamped at build time with
// go build -ldflags "-X main.version=v1.2.3"; a package-level variable because -X can only set
// one, and never written at run time.
var version = "devel"

// versionString is what --version prints after the binary's name: the release, then what the
// Go toolchain recorded, so that even a "devel" build says which code it is: the commit, whether
// the tree was modified and the commit time; without them (go install ...@v1.2.3 records no
// VCS information, nor does -buildvcs=false) the module version, if any.
func versionString(release string, info *debug.BuildInfo) string {
	var details []string
	settings := map[string]string{}
	if info != nil {
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
	}
	switch rev := settings["vcs.revision"]; {
	case rev != "":
		details = append(details, "revision "+rev)
		if settings["vcs.modified"] == "true" {
			details = append(details, "modified")
		}
		if t := settings["vcs.time"]; t != "" {
			details = append(details, "committed "+t)
		}
	case info != nil && info.Main.Version != "" && info.Main.Version != "(devel)":
		details = append(details, "module "+info.Main.Version)
	default:
		details = append(details, "no VCS information")
	}
	return release + " (" + strings.Join(details, ", ") + ") " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// buildInfo is the binary's build info, nil when it has none.
func buildInfo() *debug.BuildInfo {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return info
}
