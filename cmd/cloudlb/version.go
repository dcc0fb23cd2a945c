package main

import (
	"fmt"
	"io"

	"github.com/cloudlb/cloudlb/internal/version"
)

const versionAbout = `Prints which build of cloudlb this is: the release, the git commit (and whether the tree
had uncommitted changes), the build date and the Go toolchain. "cloudlb --version" prints the
text form. The controller manager and the node agent print theirs with --version.`

// runVersion prints this binary's build.
func runVersion(args []string, stdout, stderr io.Writer) int {
	v := newVerb("cloudlb version", "cloudlb version [-o text|json|yaml]", versionAbout)
	output := v.output()
	positional, code, ok := v.parse(args, stdout, stderr)
	if !ok {
		return code
	}
	if len(positional) > 0 {
		return v.usageError(stderr, "unexpected arguments %q", positional)
	}
	if code, ok := v.checkOutput(stderr, *output); !ok {
		return code
	}
	info := version.Get()
	if *output == "text" {
		fmt.Fprintf(stdout, "cloudlb %s\n", info)
		return exitOK
	}
	if err := writeData(stdout, *output, info); err != nil {
		fmt.Fprintf(stderr, "cloudlb version: %v\n", err)
		return exitUsage
	}
	return exitOK
}
