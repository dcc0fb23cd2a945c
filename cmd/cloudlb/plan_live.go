package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
	"github.com/cloudlb/cloudlb/providers/aws"
	"github.com/cloudlb/cloudlb/providers/azure"
	"github.com/cloudlb/cloudlb/providers/gce"
)

// liveCloud is a provider a live plan asks: it plans (providers.Planner) what its
// EnsureLoadBalancerConfigured would write, for the annotations it reads.
type liveCloud interface {
	providers.Planner
	AnnotationCloud() annotations.Cloud
	GetLoadBalancerName(ctx context.Context, clusterName string, svc *v1.Service) string
}

// liveClouds build the real provider from its cloud config, as the controller does, and say
// where the placeholder nodes live.
var liveClouds = map[string]func(ctx context.Context, r io.Reader) (any, nodeSite, error){
	"aws": func(ctx context.Context, r io.Reader) (any, nodeSite, error) {
		cc, err := aws.ParseCloudConfig(r)
		if err != nil {
			return nil, nodeSite{}, err
		}
		c, err := aws.NewFromConfig(ctx, cc)
		return c, awsSite(cc), err
	},
	"azure": func(_ context.Context, r io.Reader) (any, nodeSite, error) {
		cc, err := azure.ParseCloudConfig(r)
		if err != nil {
			return nil, nodeSite{}, err
		}
		c, err := azure.NewFromConfig(cc)
		return c, azureSite(cc), err
	},
	"gce": func(ctx context.Context, r io.Reader) (any, nodeSite, error) {
		cc, err := gce.ParseCloudConfig(r)
		if err != nil {
			return nil, nodeSite{}, err
		}
		site := gceSite(cc)
		site.project = cc.Global.ProjectID
		c, err := gce.NewFromConfig(ctx, cc)
		return c, site, err
	},
}

// newLiveCloud builds the provider of cloud from the cloud config at path.
func newLiveCloud(ctx context.Context, cloud, path string) (liveCloud, nodeSite, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nodeSite{}, pathError(path, err)
	}
	defer f.Close()
	c, site, err := liveClouds[cloud](ctx, f)
	if err != nil {
		return nil, nodeSite{}, err
	}
	lc, ok := c.(liveCloud)
	if !ok {
		return nil, nodeSite{}, fmt.Errorf("the %s provider cannot plan against the cloud yet (it has no PlanLoadBalancer)", cloud)
	}
	return lc, site, nil
}

// livePlanEntry is one Service in the -o json|yaml output of a live plan.
type livePlanEntry struct {
	File    string      `json:"file"`
	Service string      `json:"service"`
	Cloud   string      `json:"cloud"`
	Writes  []liveWrite `json:"writes"`
}

// liveWrite is one write of a live plan, as the controller's audit trail names it.
type liveWrite struct {
	Operation string `json:"operation"`
	Object    string `json:"object"`
	Change    string `json:"change,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// runLivePlan plans each LoadBalancer Service of docs against the cloud of --cloud-config and
// prints the writes; problems and notes go to stderr. The provider's writes are audited: one
// made while planning would be a bug, reported as such.
func runLivePlan(f *planFlags, docs []document, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var wrote writeGuard
	ctx = providers.WithAuditor(ctx, wrote.audit)
	cloud, site, err := newLiveCloud(ctx, f.cloud, f.cloudConfig)
	if err != nil {
		return cloudConfigError(stderr, f.cloudConfig, err)
	}
	nodes, note, err := liveNodes(ctx, f, site)
	if err != nil {
		fmt.Fprintf(stderr, "cloudlb plan: --kubeconfig: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(stderr, note)
	plans, problems := livePlans(ctx, cloud, docs, nodes, f.clusterName, stderr)
	errs := printProblems(stderr, problems)
	if err := writeLivePlans(stdout, f.output, plans); err != nil {
		fmt.Fprintf(stderr, "cloudlb plan: %v\n", err)
		return exitUsage
	}
	if n := wrote.count(); n > 0 {
		fmt.Fprintf(stderr, "cloudlb plan: bug: the %s provider made %d cloud writes while planning: %s\n", f.cloud, n, wrote.String())
		return exitInvalid
	}
	return planSummary(stderr, len(plans), f.cloud+" (live)", errs, len(problems)-errs)
}

// plannedService is one Service's plan and the file it came from.
type plannedService struct {
	file string
	plan *providers.Plan
}

// livePlans plans each LoadBalancer Service; its annotations are parsed once, for the
// provider's cloud, after placeholders fill what the manifest lacks (notes on stderr).
func livePlans(ctx context.Context, cloud liveCloud, docs []document, nodes []*v1.Node, clusterName string, stderr io.Writer) ([]plannedService, []finding) {
	var plans []plannedService
	var findings []finding
	problem := func(d document, sev annotations.Severity, reason string) {
		findings = append(findings, finding{File: d.File, Service: d.Name, Problem: annotations.Problem{Severity: sev, Key: "(service)", Reason: reason}})
	}
	for _, d := range docs {
		switch {
		case d.DecodeErr != nil:
			findings = append(findings, decodeProblem(d))
			continue
		case typeProblem(d.Service) != nil:
			findings = append(findings, finding{File: d.File, Service: d.Name, Problem: *typeProblem(d.Service)})
			continue
		case d.Service.Spec.Type != v1.ServiceTypeLoadBalancer:
			continue
		}
		svc, notes := providers.WithPlaceholders(d.Service, func(s *v1.Service) string { return cloud.GetLoadBalancerName(ctx, clusterName, s) })
		for _, n := range notes {
			fmt.Fprintf(stderr, "%s: %s: placeholder: %s\n", d.File, d.Name, n)
		}
		cfg, ps := annotations.Parse(svc, cloud.AnnotationCloud())
		for _, p := range ps {
			findings = append(findings, finding{File: d.File, Service: d.Name, Problem: p})
		}
		if ps.HasErrors() {
			continue
		}
		p, err := cloud.PlanLoadBalancer(ctx, clusterName, svc, cfg, nodes)
		switch {
		case errors.Is(err, cloudprovider.ImplementedElsewhere):
			problem(d, annotations.Warning, "served by another controller; nothing to plan")
			continue
		case err != nil && p == nil:
			problem(d, annotations.Error, err.Error())
			continue
		case err != nil: // a refusal that leaves the rest of the plan to apply
			problem(d, annotations.Error, err.Error())
		}
		plans = append(plans, plannedService{file: d.File, plan: p})
	}
	return plans, findings
}

// writeLivePlans prints the plans: text is each plan's own rendering, json and yaml a list
// of livePlanEntry.
func writeLivePlans(w io.Writer, format string, plans []plannedService) error {
	if format == "text" {
		for _, p := range plans {
			if _, err := io.WriteString(w, p.plan.String()); err != nil {
				return err
			}
		}
		return nil
	}
	entries := []livePlanEntry{}
	for _, p := range plans {
		e := livePlanEntry{File: p.file, Service: p.plan.Service, Cloud: p.plan.Cloud, Writes: []liveWrite{}}
		for _, w := range p.plan.Writes {
			e.Writes = append(e.Writes, liveWrite{Operation: w.Operation, Object: w.Object, Change: string(w.Change), Reason: w.Reason})
		}
		entries = append(entries, e)
	}
	return writeData(w, format, entries)
}

// liveNodes are the Nodes of --kubeconfig's cluster, or the placeholder nodes, with a note
// saying which.
func liveNodes(ctx context.Context, f *planFlags, site nodeSite) ([]*v1.Node, string, error) {
	if f.kubeconfig == "" {
		return placeholderNodes(f.cloud, f.nodeCount, site),
			fmt.Sprintf("cloudlb plan: no --kubeconfig: the load balancers target %s (node-1..node-%d, --nodes), which the cloud does not have; give --kubeconfig for the cluster's Nodes",
				plural(f.nodeCount, "placeholder node"), f.nodeCount), nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", f.kubeconfig)
	if err != nil {
		return nil, "", err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", err
	}
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("listing the Nodes: %w", err)
	}
	nodes := make([]*v1.Node, 0, len(list.Items))
	for i := range list.Items {
		nodes = append(nodes, &list.Items[i])
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	// The service controller's predicates are its own (not exported): every Node is passed,
	// and the provider's own filters (Azure's exclusion labels) still apply.
	return nodes, fmt.Sprintf("cloudlb plan: the load balancers target all %s of the cluster: the controller's node eligibility "+
		"(being deleted, %s, the %s taint, aws-load-balancer-target-node-labels) is not applied here",
		plural(len(nodes), "Node"), v1.LabelNodeExcludeBalancers, "ToBeDeletedByClusterAutoscaler"), nil
}

// writeGuard records the cloud writes a provider reports (providers.Auditor); a plan
// makes none.
type writeGuard struct {
	mu     sync.Mutex
	writes []string
}

func (g *writeGuard) audit(_ context.Context, w providers.Write, _ error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writes = append(g.writes, w.Operation+" "+w.Object)
}

func (g *writeGuard) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.writes)
}

func (g *writeGuard) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return strings.Join(g.writes, "; ")
}
