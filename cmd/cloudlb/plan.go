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
	"github.com/cloudlb/cloudlb/providers/azure"
	"github.com/cloudlb/cloudlb/providers/gce"
)

// planEntry is one Service in the output of cloudlb plan: the file it came from and the
// provider's Desired (a JSON object), with "file" added to that object.
type planEntry struct {
	File    string
	Desired any
}

// MarshalJSON inlines Desired's fields next to "file".
func (e planEntry) MarshalJSON() ([]byte, error) {
	b, err := marshalRaw(e.Desired)
	if err != nil {
		return nil, err
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, fmt.Errorf("plan of %s is not a JSON object: %w", e.File, err)
	}
	if fields["file"], err = marshalRaw(e.File); err != nil {
		return nil, err
	}
	return marshalRaw(fields)
}

// marshalRaw is json.Marshal without HTML escaping: placeholders are <...>.
func marshalRaw(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// planner is a cloud's offline model builder, and the cloud whose annotations it reads.
type planner struct {
	cloud   annotations.Cloud
	desired func(svc *v1.Service, nodes []*v1.Node, clusterName string) (any, error)
}

var planners = map[string]planner{
	"aws": {annotations.AWS, func(svc *v1.Service, nodes []*v1.Node, cluster string) (any, error) {
		return aws.DesiredModel(svc, nodes, nil, cluster)
	}},
	"azure": {annotations.Azure, func(svc *v1.Service, nodes []*v1.Node, cluster string) (any, error) {
		return azure.DesiredModel(svc, nodes, nil, cluster)
	}},
	"gce": {annotations.GCE, func(svc *v1.Service, nodes []*v1.Node, cluster string) (any, error) {
		return gce.DesiredModel(svc, nodes, nil, cluster)
	}},
}

// runPlan prints, offline, the load balancer the provider would make for each LoadBalancer
// Service of the inputs.
func runPlan(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cloudlb plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files stringList
	fs.Var(&files, "f", "manifest file, directory or - for stdin (repeatable; positional arguments work too)")
	cloudFlag := fs.String("cloud", "aws", "cloud to plan for: aws, azure or gce")
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
	case planners[*cloudFlag].desired == nil:
		fmt.Fprintf(stderr, "cloudlb plan: --cloud %q: allowed: aws, azure, gce\n", *cloudFlag)
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
	entries, problems := plan(planners[*cloudFlag], docs, placeholderNodes(*cloudFlag, *nodeCount), *clusterName)
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
func plan(p planner, docs []document, nodes []*v1.Node, clusterName string) ([]planEntry, []finding) {
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
		_, problems := annotations.Parse(d.Service, p.cloud)
		for _, p := range problems {
			findings = append(findings, finding{File: d.File, Service: d.Name, Problem: p})
		}
		if problems.HasErrors() {
			continue
		}
		desired, err := p.desired(d.Service, nodes, clusterName)
		switch {
		case errors.Is(err, cloudprovider.ImplementedElsewhere):
			pr := annotations.Problem{Severity: annotations.Warning, Key: "(service)", Reason: "served by another controller; nothing to plan"}
			if p.cloud == annotations.AWS {
				pr.Key, pr.Reason = "service.beta.kubernetes.io/aws-load-balancer-type", "served by another controller (the AWS Load Balancer Controller); nothing to plan"
			}
			findings = append(findings, finding{File: d.File, Service: d.Name, Problem: pr})
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

// placeholderNodes are node-1..n with an InternalIP 10.0.0.(10+i) and a provider ID of the
// cloud's form: AWS instance IDs i-00000000000000001 on in us-east-1a, Azure VMs of a
// placeholder subscription, GCE instances in us-central1-a.
func placeholderNodes(cloud string, n int) []*v1.Node {
	nodes := make([]*v1.Node, 0, n)
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("node-%d", i)
		id := fmt.Sprintf("aws:///us-east-1a/i-%017x", i)
		switch cloud {
		case "azure":
			id = "azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/<resource-group>/providers/Microsoft.Compute/virtualMachines/" + name
		case "gce":
			id = "gce://<project-id>/us-central1-a/" + name
		}
		nodes = append(nodes, &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       v1.NodeSpec{ProviderID: id},
			Status: v1.NodeStatus{Addresses: []v1.NodeAddress{
				{Type: v1.NodeInternalIP, Address: fmt.Sprintf("10.0.0.%d", 10+i)},
			}},
		})
	}
	return nodes
}
