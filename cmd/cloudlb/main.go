// Command cloudlb is the user CLI: validate Service manifests and plan their load balancers
// offline, inspect the annotation registry, and run the embedded demo.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes shared by every verb.
const (
	exitOK      = 0
	exitInvalid = 1 // the input has errors
	exitUsage   = 2 // bad flags or unreadable input
)

const usage = `cloudlb turns Kubernetes LoadBalancer Services into cloud load balancers.

Usage:
  cloudlb lint [-f FILE|DIR|-]... [--cloud aws|azure|gce] [--strict] [-o text|json|yaml]
  cloudlb plan --cloud aws|azure|gce [-f FILE|DIR|-]... [--cloud-config FILE] [-o text|json|yaml]
               [--cluster-name NAME] [--nodes N]
  cloudlb annotations [--cloud aws|azure|gce] [-o text|json|yaml|markdown]
  cloudlb demo [--keep] [--timeout 90s] [--cloud fake|aws] [-v]
  cloudlb fakecloud aws|azure|gce [--listen ADDR] [--topology FILE (aws)]
  cloudlb version [-o text|json|yaml]

Exit codes: 0 done, 1 the input has errors (lint, plan) or the verb failed, 2 usage error or
unreadable input. Run "cloudlb <verb> -h" (or "cloudlb help <verb>") for the flags of one verb.
`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run dispatches a verb; it is main without os.Exit so tests can call it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "lint":
		return runLint(args[1:], stdin, stdout, stderr)
	case "plan":
		return runPlan(args[1:], stdin, stdout, stderr)
	case "annotations":
		return runAnnotations(args[1:], stdout, stderr)
	case "demo":
		return runDemo(args[1:], stdout, stderr)
	case "fakecloud":
		return runFakecloud(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		return runVersion(args[1:], stdout, stderr)
	case "help":
		if len(args) > 1 { // "cloudlb help lint" is "cloudlb lint -h"
			return run([]string{args[1], "-h"}, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "cloudlb: unknown verb %q\n\n%s", args[0], usage)
	return exitUsage
}
