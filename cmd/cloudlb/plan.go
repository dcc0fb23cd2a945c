package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"

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

// desiredFunc builds one Service's desired model offline.
type desiredFunc func(svc *v1.Service, nodes []*v1.Node, clusterName string) (any, error)

// planner is a cloud's offline model builder, and the cloud whose annotations it reads.
type planner struct {
	cloud annotations.Cloud
	// withConfig parses the provider's cloud config (r nil: none given) and returns the
	// builder that uses it, so a plan can show what a real config changes (names, tags,
	// security groups), and where the config puts the nodes.
	withConfig func(r io.Reader) (desiredFunc, nodeSite, error)
}

var planners = map[string]planner{
	"aws":   newPlanner(annotations.AWS, aws.ParseCloudConfig, aws.DesiredModel, awsSite),
	"azure": newPlanner(annotations.Azure, azure.ParseCloudConfig, azure.DesiredModel, azureSite),
	"gce":   newPlanner(annotations.GCE, gce.ParseCloudConfig, gce.DesiredModel, gceSite),
}

// awsSite puts the placeholder nodes in the config's zone, or the first of its region.
func awsSite(cc *aws.CloudConfig) nodeSite {
	if cc.Global.Zone == "" && cc.Global.Region != "" {
		return nodeSite{zone: cc.Global.Region + "a"}
	}
	return nodeSite{zone: cc.Global.Zone}
}

// azureSite puts the placeholder nodes' VMs in the config's subscription and group.
func azureSite(cc *azure.CloudConfig) nodeSite {
	return nodeSite{subscription: cc.SubscriptionID, resourceGroup: cc.ResourceGroup}
}

// gceSite puts the placeholder nodes in the config's zone, or the first of its region.
func gceSite(cc *gce.CloudConfig) nodeSite {
	if cc.Global.LocalZone == "" && cc.Global.Region != "" {
		return nodeSite{zone: cc.Global.Region + "-a"}
	}
	return nodeSite{zone: cc.Global.LocalZone}
}

// newPlanner adapts a provider's ParseCloudConfig and DesiredModel. Without a config the
// provider gets nil, its documented "no cloud config" (the controller without --cloud-config).
func newPlanner[C, D any](cloud annotations.Cloud, parse func(io.Reader) (*C, error),
	model func(*v1.Service, []*v1.Node, *C, string) (D, error), site func(*C) nodeSite) planner {
	return planner{cloud, func(r io.Reader) (desiredFunc, nodeSite, error) {
		var cc *C
		var where nodeSite
		if r != nil {
			var err error
			if cc, err = parse(r); err != nil {
				return nil, nodeSite{}, err
			}
			where = site(cc)
		}
		return func(svc *v1.Service, nodes []*v1.Node, cluster string) (any, error) {
			return model(svc, nodes, cc, cluster)
		}, where, nil
	}}
}

const planAbout = `Prints, offline, the load balancer the provider would build for each LoadBalancer Service
of the manifests: the desired model (-o text is its YAML form), with placeholders where only
the cloud or the API server knows the value (UIDs, nodePorts, subnets). Problems go to stderr
as lint prints them, so stdout stays parseable.

--cloud is required: a plan is one provider's model and is never guessed from the
annotations. --cloud-config reads that provider's cloud config (aws: the INI file of
cloud-provider-aws, azure: azure.json, gce: gce.conf), as the controller's --cloud-config.

--live reads the cloud the cloud config points at (aws: the SDK's default chain and
AWS_ENDPOINT_URL; azure: resourceManagerEndpoint; gce: api-endpoint) and prints, instead of
the model, the writes the controller would make for each Service, in order, with why; it
makes no write, so read-only credentials suffice. The Services' nodes are the cluster's
(--kubeconfig) or the placeholder nodes (--nodes). A manifest without a UID or nodePorts
gets placeholders, which name objects the cloud does not have: plan the Service as the API
server returns it (kubectl get service NAME -o yaml) to see what a change of it would write.

Exit codes: 0 planned, 1 a Service has errors (the others are still planned), 2 usage error
or input that cannot be read (see "cloudlb lint -h").`

// planFlags are the flags of cloudlb plan.
type planFlags struct {
	files       stringList
	cloud       string
	cloudConfig string
	output      string
	clusterName string
	nodeCount   int
	live        bool
	kubeconfig  string
	// nodesSet says --nodes was given.
	nodesSet bool
}

func (f *planFlags) register(v *verb) {
	v.fs.Var(&f.files, "f", filesUsage)
	v.fs.StringVar(&f.cloud, "cloud", "", "cloud to plan for: aws, azure or gce (required)")
	v.fs.StringVar(&f.cloudConfig, "cloud-config", "", "the provider's cloud config file, as the controller's --cloud-config; default: none")
	v.fs.StringVar(&f.output, "o", "text", outputUsage)
	v.fs.StringVar(&f.clusterName, "cluster-name", "kubernetes", "cluster name of the ownership tags (the controller's --cluster-name)")
	v.fs.IntVar(&f.nodeCount, "nodes", 3, "number of placeholder nodes (node-1..N) the load balancer targets")
	v.fs.BoolVar(&f.live, "live", false, "read the cloud of --cloud-config and print the writes the controller would make (no write is made)")
	v.fs.StringVar(&f.kubeconfig, "kubeconfig", "", "with --live: the cluster whose Nodes the load balancer targets; default: the placeholder nodes")
}

// check reports the first usage error of the flags.
func (f *planFlags) check(v *verb, stderr io.Writer) (int, bool) {
	_, known := planners[f.cloud]
	switch {
	case f.cloud == "":
		return v.usageError(stderr, "--cloud is required: aws, azure or gce"), false
	case !known:
		return v.usageError(stderr, "--cloud %q: allowed: aws, azure, gce", f.cloud), false
	case len(f.files) == 0:
		return v.usageError(stderr, "no input: give -f FILE, -f DIR or -f -"), false
	case f.nodeCount < 0:
		return v.usageError(stderr, "--nodes %d: must be 0 or more", f.nodeCount), false
	case f.live && f.cloudConfig == "":
		return v.usageError(stderr, "--live needs --cloud-config: the cloud config says which cloud (account, subscription or project, and endpoint) to read"), false
	case f.kubeconfig != "" && !f.live:
		return v.usageError(stderr, "--kubeconfig is read only with --live: an offline plan targets the placeholder nodes (--nodes)"), false
	case f.kubeconfig != "" && f.nodesSet:
		return v.usageError(stderr, "--nodes and --kubeconfig: give one; --nodes counts placeholder nodes, --kubeconfig lists the cluster's"), false
	}
	return v.checkOutput(stderr, f.output)
}

// runPlan prints, offline, the load balancer the provider would make for each LoadBalancer
// Service of the inputs; with --live, the writes the provider would make in the cloud.
func runPlan(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	v := newVerb("cloudlb plan", "cloudlb plan --cloud aws|azure|gce [-f FILE|DIR|-]... [--cloud-config FILE] [--live [--kubeconfig FILE]] [-o text|json|yaml] [--cluster-name NAME] [--nodes N]", planAbout)
	var f planFlags
	f.register(v)
	positional, code, ok := v.parse(args, stdout, stderr)
	if !ok {
		return code
	}
	f.files = append(f.files, positional...)
	v.fs.Visit(func(fl *flag.Flag) { f.nodesSet = f.nodesSet || fl.Name == "nodes" })
	if code, ok := f.check(v, stderr); !ok {
		return code
	}
	p := planners[f.cloud]
	desired, site, err := desiredFor(p, f.cloudConfig)
	if err != nil {
		return cloudConfigError(stderr, f.cloudConfig, err)
	}
	docs, err := readInputs(f.files, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "cloudlb plan: %v\n", err)
		return exitUsage
	}
	if f.live {
		return runLivePlan(&f, docs, stdout, stderr)
	}
	entries, problems := plan(p.cloud, desired, docs, placeholderNodes(f.cloud, f.nodeCount, site), f.clusterName)
	errs := printProblems(stderr, problems)
	if entries == nil {
		entries = []planEntry{}
	}
	// text is the YAML: the plan is data, and YAML is its most readable form.
	format := f.output
	if format == "text" {
		format = "yaml"
	}
	if err := writeData(stdout, format, entries); err != nil {
		fmt.Fprintf(stderr, "cloudlb plan: %v\n", err)
		return exitUsage
	}
	return planSummary(stderr, len(entries), f.cloud, errs, len(problems)-errs)
}

// cloudConfigError reports a cloud config that cannot be read or built on (exit 2).
func cloudConfigError(stderr io.Writer, path string, err error) int {
	msg := err.Error()
	if !strings.Contains(msg, path) { // some providers name the file themselves
		msg = path + ": " + msg
	}
	fmt.Fprintf(stderr, "cloudlb plan: --cloud-config: %s\n", msg)
	return exitUsage
}

// printProblems prints the problems as lint does, on stderr so stdout stays parseable, and
// returns how many are errors.
func printProblems(stderr io.Writer, problems []finding) int {
	errs := 0
	for _, p := range problems {
		if p.Severity == annotations.Error {
			errs++
		}
		fmt.Fprintln(stderr, p)
	}
	return errs
}

// planSummary prints the closing line and returns the exit code.
func planSummary(stderr io.Writer, planned int, cloud string, errs, warnings int) int {
	fmt.Fprintf(stderr, "%s planned for %s: %s, %s\n", plural(planned, "LoadBalancer Service"), cloud, plural(errs, "error"), plural(warnings, "warning"))
	if errs > 0 {
		return exitInvalid
	}
	return exitOK
}

// desiredFor returns p's model builder and node site with the cloud config of path ("" for
// none).
func desiredFor(p planner, path string) (desiredFunc, nodeSite, error) {
	if path == "" {
		return p.withConfig(nil)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nodeSite{}, pathError(path, err)
	}
	defer f.Close()
	return p.withConfig(f)
}

// plan builds the desired model of each LoadBalancer Service; Services with an invalid
// annotation, or that the provider refuses, become findings instead.
func plan(cloud annotations.Cloud, desiredModel desiredFunc, docs []document, nodes []*v1.Node, clusterName string) ([]planEntry, []finding) {
	var entries []planEntry
	var findings []finding
	for _, d := range docs {
		if d.DecodeErr != nil {
			findings = append(findings, decodeProblem(d))
			continue
		}
		if p := typeProblem(d.Service); p != nil {
			findings = append(findings, finding{File: d.File, Service: d.Name, Problem: *p})
			continue
		}
		if d.Service.Spec.Type != v1.ServiceTypeLoadBalancer {
			continue
		}
		_, problems := annotations.Parse(d.Service, cloud)
		for _, p := range problems {
			findings = append(findings, finding{File: d.File, Service: d.Name, Problem: p})
		}
		if problems.HasErrors() {
			continue
		}
		desired, err := desiredModel(d.Service, nodes, clusterName)
		switch {
		case errors.Is(err, cloudprovider.ImplementedElsewhere):
			pr := annotations.Problem{Severity: annotations.Warning, Key: "(service)", Reason: "served by another controller; nothing to plan"}
			if cloud == annotations.AWS {
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

// nodeSite is where the placeholder nodes live. With a cloud config it comes from the config,
// so that a plan does not mix the config's region with a placeholder node's zone.
type nodeSite struct {
	zone                        string // aws, gce
	subscription, resourceGroup string // azure
	// project is the GCE project of a live plan's placeholder nodes; "" for "<project-id>".
	project string
}

// placeholderNodes are node-1..n with an InternalIP 10.0.0.(10+i) and a provider ID of the
// cloud's form: AWS instance IDs i-00000000000000001 in us-east-1a, Azure VMs of a
// placeholder subscription, GCE instances in us-central1-a, or where site says.
func placeholderNodes(cloud string, n int, site nodeSite) []*v1.Node {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	nodes := make([]*v1.Node, 0, n)
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("node-%d", i)
		id := fmt.Sprintf("aws:///%s/i-%017x", or(site.zone, "us-east-1a"), i)
		switch cloud {
		case "azure":
			id = fmt.Sprintf("azure:///subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s",
				or(site.subscription, "00000000-0000-0000-0000-000000000000"), or(site.resourceGroup, "<resource-group>"), name)
		case "gce":
			id = fmt.Sprintf("gce://%s/%s/%s", or(site.project, "<project-id>"), or(site.zone, "us-central1-a"), name)
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
