package main

import (
	"fmt"
	"io"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// filesUsage is the help of -f, the same for every verb that reads manifests.
const filesUsage = "manifest file, directory or - for stdin (repeatable; positional arguments work too)"

// finding is one line of lint output.
type finding struct {
	File    string `json:"file"`
	Service string `json:"service"`
	annotations.Problem
}

func (f finding) String() string {
	p := f.Problem
	if p.Severity == annotations.Warning {
		p.Reason = "warning: " + p.Reason
	}
	return fmt.Sprintf("%s: %s: %s", f.File, f.Service, p)
}

const lintAbout = `Checks every LoadBalancer Service of the manifests offline: each annotation against the
registry ("cloudlb annotations"), and the Service fields the load balancer is built from.
Prints one problem per line on stdout (FILE: NAMESPACE/NAME: KEY: "VALUE": REASON) and a
summary on stderr.

A file (or stdin) must hold at least one Service; a directory is searched recursively for
*.yaml, *.yml and *.json and needs one Service somewhere (its other objects are skipped).

Exit codes: 0 no errors, 1 errors (or warnings, with --strict), 2 usage error or input that
cannot be read: a missing or empty file, a file without a Service, invalid YAML (named by the
line of the file), or a kind that is not quite Service (kind: service).`

// runLint validates every LoadBalancer Service in the inputs.
func runLint(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	v := newVerb("cloudlb lint", "cloudlb lint [-f FILE|DIR|-]... [--cloud aws|azure|gce] [--strict] [-o text|json|yaml]", lintAbout)
	var files stringList
	v.fs.Var(&files, "f", filesUsage)
	cloudFlag := v.fs.String("cloud", "", "check for this cloud (aws, azure, gce); default: every key against its own cloud")
	strict := v.fs.Bool("strict", false, "fail (exit 1) on warnings too, for CI: unknown keys (typos), other clouds' keys, deprecated fields")
	output := v.output()
	positional, code, ok := v.parse(args, stdout, stderr)
	if !ok {
		return code
	}
	files = append(files, positional...)
	if len(files) == 0 {
		return v.usageError(stderr, "no input: give -f FILE, -f DIR or -f -")
	}
	cloud, err := annotations.ParseCloud(*cloudFlag)
	if err != nil {
		return v.usageError(stderr, "--cloud: %v", err)
	}
	if code, ok := v.checkOutput(stderr, *output); !ok {
		return code
	}
	docs, err := readInputs(files, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "cloudlb lint: %v\n", err)
		return exitUsage
	}
	res := lint(docs, cloud)
	if *output == "text" {
		for _, f := range res.findings {
			fmt.Fprintln(stdout, f)
		}
	} else {
		findings := res.findings
		if findings == nil {
			findings = []finding{} // [] rather than null: consumers iterate it
		}
		if err := writeData(stdout, *output, findings); err != nil {
			fmt.Fprintf(stderr, "cloudlb lint: %v\n", err)
			return exitUsage
		}
	}
	fmt.Fprintln(stderr, res.summary(*strict))
	if res.errors > 0 || (*strict && res.warnings > 0) {
		return exitInvalid
	}
	return exitOK
}

// lintResult is what lint found, and the counts of its summary.
type lintResult struct {
	findings         []finding
	checked, skipped int // LoadBalancer Services checked; Services of other types skipped
	errors, warnings int
}

// summary is the stderr line after the findings.
func (r lintResult) summary(strict bool) string {
	s := plural(r.checked, "LoadBalancer Service") + " checked"
	if r.skipped > 0 {
		s += fmt.Sprintf(" (%s skipped)", plural(r.skipped, "other Service"))
	}
	s += fmt.Sprintf(": %s, %s", plural(r.errors, "error"), plural(r.warnings, "warning"))
	if strict && r.warnings > 0 {
		s += "; --strict: warnings fail"
	}
	return s
}

// serviceTypes are the values of spec.type Kubernetes accepts ("" is ClusterIP).
var serviceTypes = []v1.ServiceType{"", v1.ServiceTypeClusterIP, v1.ServiceTypeNodePort, v1.ServiceTypeLoadBalancer, v1.ServiceTypeExternalName}

// typeProblem reports a spec.type Kubernetes rejects, such as "Loadbalancer": skipping such a
// Service as "not a LoadBalancer" would hide the typo.
func typeProblem(svc *v1.Service) *annotations.Problem {
	for _, t := range serviceTypes {
		if svc.Spec.Type == t {
			return nil
		}
	}
	return &annotations.Problem{Severity: annotations.Error, Key: "spec.type", Value: string(svc.Spec.Type),
		Reason: "unknown Service type; types are case-sensitive", Allowed: "ClusterIP, NodePort, LoadBalancer, ExternalName"}
}

// decodeProblem is the finding of a Service that does not decode.
func decodeProblem(d document) finding {
	return finding{File: d.File, Service: d.Name, Problem: annotations.Problem{
		Severity: annotations.Error, Key: "(object)", Reason: "does not decode as a v1 Service: " + d.DecodeErr.Error(),
	}}
}

// lint checks each LoadBalancer Service.
func lint(docs []document, cloud annotations.Cloud) lintResult {
	var r lintResult
	add := func(f finding) {
		r.findings = append(r.findings, f)
		if f.Severity == annotations.Error {
			r.errors++
		} else {
			r.warnings++
		}
	}
	for _, d := range docs {
		if d.DecodeErr != nil {
			r.checked++
			add(decodeProblem(d))
			continue
		}
		if p := typeProblem(d.Service); p != nil {
			r.checked++
			add(finding{File: d.File, Service: d.Name, Problem: *p})
			continue
		}
		if d.Service.Spec.Type != v1.ServiceTypeLoadBalancer {
			r.skipped++
			continue
		}
		r.checked++
		_, problems := annotations.Parse(d.Service, cloud)
		for _, p := range problems {
			add(finding{File: d.File, Service: d.Name, Problem: p})
		}
	}
	return r
}
