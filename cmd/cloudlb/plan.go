package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"
	"sigs.k8s.io/yaml"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers/aws"
)

// planEntry is one Service in the output of cloudlb plan.
type planEntry struct {
	File string `json:"file"`
	*aws.Desired
}

// runPlan prints, offline, the load balancer the provider would make for each LoadBalancer
// Service of the inputs.
func runPlan(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cloudlb plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files stringList
	fs.Var(&files, "f", "manifest file, directory or - for stdin (repeatable; positional arguments work too)")
	cloudFlag := fs.String("cloud", "aws", "cloud to plan for (aws)")
	output := fs.String("o", "yaml", "output format: yaml or json")
	clusterName := fs.String("cluster-name", "kubernetes", "cluster name of the ownership tags (the controller's --cluster-name)")
	nodeCount := fs.Int("nodes", 3, "number of placeholder nodes (node-1..N) the load balancer targets")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	files = append(files, fs.Args()...)
	switch {
	case len(files) == 0:
		fmt.Fprintln(stderr, "cloudlb plan: no input: give -f FILE, -f DIR or -f -")
		return exitUsage
	case *cloudFlag != "aws":
		fmt.Fprintf(stderr, "cloudlb plan: --cloud %q: only aws can be planned offline\n", *cloudFlag)
		return exitUsage
	case *output != "yaml" && *output != "json":
		fmt.Fprintf(stderr, "cloudlb plan: -o %q: allowed: yaml, json\n", *output)
		return exitUsage
	case *nodeCount < 0:
		fmt.Fprintf(stderr, "cloudlb plan: --nodes %d: must be 0 or more\n", *nodeCount)
		return exitUsage
	}
	docs, err := readInputs(files, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "cloudlb plan: %v\n", err)
		return exitUsage
	}
	entries, problems := plan(docs, placeholderNodes(*nodeCount), *clusterName)
	errs := 0
	for _, p := range problems {
		if p.Severity == annotations.Error {
			errs++
		}
		// stdout holds the plan only, so it stays parseable; problems read as lint prints them.
		fmt.Fprintln(stderr, p)
	}
	if entries == nil {
		entries = []planEntry{}
	}
	var out []byte
	if *output == "json" {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // placeholders are <...>; keep them readable
		err, out = enc.Encode(entries), b.Bytes()
	} else {
		out, err = yaml.Marshal(entries)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cloudlb plan: %v\n", err)
		return exitUsage
	}
	stdout.Write(out)
	if errs > 0 {
		return exitInvalid
	}
	return exitOK
}

// plan builds the desired model of each LoadBalancer Service; Services with an invalid
// annotation, or that the provider refuses, become findings instead.
func plan(docs []document, nodes []*v1.Node, clusterName string) ([]planEntry, []finding) {
	var entries []planEntry
	var findings []finding
	for _, d := range docs {
		if d.DecodeErr != nil {
			findings = append(findings, finding{File: d.File, Service: d.Name, Problem: annotations.Problem{
				Severity: annotations.Error, Key: "(object)", Reason: "does not decode as a v1 Service: " + d.DecodeErr.Error(),
			}})
			continue
		}
		if d.Service.Spec.Type != v1.ServiceTypeLoadBalancer {
			continue
		}
		_, problems := annotations.Parse(d.Service, annotations.AWS)
		for _, p := range problems {
			findings = append(findings, finding{File: d.File, Service: d.Name, Problem: p})
		}
		if problems.HasErrors() {
			continue
		}
		desired, err := aws.DesiredModel(d.Service, nodes, nil, clusterName)
		switch {
		case errors.Is(err, cloudprovider.ImplementedElsewhere):
			findings = append(findings, finding{File: d.File, Service: d.Name, Problem: annotations.Problem{
				Severity: annotations.Warning, Key: "service.beta.kubernetes.io/aws-load-balancer-type",
				Reason: "served by another controller (the AWS Load Balancer Controller); nothing to plan",
			}})
			continue
		case err != nil:
			findings = append(findings, finding{File: d.File, Service: d.Name, Problem: annotations.Problem{
				Severity: annotations.Error, Key: "(service)", Reason: err.Error(),
			}})
			continue
		}
		entries = append(entries, planEntry{File: d.File, Desired: desired})
	}
	return entries, findings
}

// placeholderNodes are node-1..n in us-east-1a with instance IDs i-00000000000000001 on.
func placeholderNodes(n int) []*v1.Node {
	nodes := make([]*v1.Node, 0, n)
	for i := 1; i <= n; i++ {
		nodes = append(nodes, &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)},
			Spec:       v1.NodeSpec{ProviderID: fmt.Sprintf("aws:///us-east-1a/i-%017x", i)},
		})
	}
	return nodes
}
