package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cloudlb/cloudlb/internal/version"
)

// The values of component-base's --version flag that ask for the version to be printed.
const (
	versionTrue = "true" // --version
	versionRaw  = "raw"  // --version=raw
)

// versionRequested reports whether --version or --version=raw was given. Upstream's command
// answers them with component-base's version, which is Kubernetes' ("Kubernetes
// v0.0.0-master+$Format:%H$" in any binary not built by Kubernetes' release tooling), from
// inside its RunE; ours answers first, with cloudlb's. --version=vX.Y.Z is left to upstream:
// it sets the Kubernetes version that feature gates emulate, not cloudlb's.
func versionRequested(cmd *cobra.Command) bool {
	f := cmd.Flags().Lookup("version")
	return f != nil && (f.Value.String() == versionTrue || f.Value.String() == versionRaw)
}

// printVersionIfRequested prints cloudlb's build for --version (one line, as the node agent's)
// or --version=raw (every field, Go syntax, as upstream's raw form) and reports whether it did.
func printVersionIfRequested(cmd *cobra.Command, w io.Writer) bool {
	if !versionRequested(cmd) {
		return false
	}
	if cmd.Flags().Lookup("version").Value.String() == versionRaw {
		fmt.Fprintf(w, "%#v\n", version.Get())
	} else {
		fmt.Fprintf(w, "%s %s\n", commandName, version.Get())
	}
	return true
}
