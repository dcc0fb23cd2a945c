package main

import (
	"encoding/json"
	"flag"
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

// runLint validates every LoadBalancer Service in the inputs.
func runLint(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cloudlb lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files stringList
	fs.Var(&files, "f", "manifest file, directory or - for stdin (repeatable; positional arguments work too)")
	cloudFlag := fs.String("cloud", "", "check for this cloud (aws, azure, gce); default: every key against its own cloud")
	output := fs.String("o", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	files = append(files, fs.Args()...)
	if len(files) == 0 {
		fmt.Fprintln(stderr, "cloudlb lint: no input: give -f FILE, -f DIR or -f -")
		return exitUsage
	}
	cloud, err := annotations.ParseCloud(*cloudFlag)
	if err != nil {
		fmt.Fprintf(stderr, "cloudlb lint: --cloud: %v\n", err)
		return exitUsage
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "cloudlb lint: -o %q: allowed: text, json\n", *output)
		return exitUsage
	}
	docs, err := readInputs(files, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "cloudlb lint: %v\n", err)
		return exitUsage
	}
	findings, checked := lint(docs, cloud)
	errs := 0
	for _, f := range findings {
		if f.Severity == annotations.Error {
			errs++
		}
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if findings == nil {
			findings = []finding{}
		}
		if err := enc.Encode(findings); err != nil {
			fmt.Fprintf(stderr, "cloudlb lint: %v\n", err)
			return exitUsage
		}
	} else {
		for _, f := range findings {
			fmt.Fprintln(stdout, f)
		}
	}
	fmt.Fprintf(stderr, "%d LoadBalancer Services checked: %d errors, %d warnings\n", checked, errs, len(findings)-errs)
	if errs > 0 {
		return exitInvalid
	}
	return exitOK
}

// lint checks each LoadBalancer Service and returns the findings and how many were checked.
func lint(docs []document, cloud annotations.Cloud) ([]finding, int) {
	var out []finding
	checked := 0
	for _, d := range docs {
		if d.DecodeErr != nil {
			checked++
			out = append(out, finding{File: d.File, Service: d.Name, Problem: annotations.Problem{
				Severity: annotations.Error, Key: "(object)", Reason: "does not decode as a v1 Service: " + d.DecodeErr.Error(),
			}})
			continue
		}
		if d.Service.Spec.Type != v1.ServiceTypeLoadBalancer {
			continue
		}
		checked++
		_, problems := annotations.Parse(d.Service, cloud)
		for _, p := range problems {
			out = append(out, finding{File: d.File, Service: d.Name, Problem: p})
		}
	}
	return out, checked
}
