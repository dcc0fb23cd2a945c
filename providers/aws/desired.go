package aws

import (
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
)

// Unresolved stands, in an offline model, for a value only the cloud knows (a discovered
// subnet, a subnet's CIDR); `cloudlb plan` prints it where apply would put the real one.
const Unresolved = "<discovered at apply>"

// Desired is the model Build or BuildNLB makes for one Service, computed offline.
type Desired struct {
	// Service is "namespace/name".
	Service string `json:"service"`
	// Type is "classic" or "nlb".
	Type string `json:"type"`
	// Model is a *Model (classic) or an *NLBModel (nlb).
	Model any `json:"model"`
	// Placeholders say which values of Model stand for something not known offline.
	Placeholders []string `json:"placeholders,omitempty"`
}

// DesiredModel returns the desired load balancer of svc without any cloud call, for `cloudlb
// plan`. It reuses Build and BuildNLB on inputs completed with placeholders: subnets to be
// discovered (or named by their Name tag) become Unresolved IDs, their CIDRs too, and ports
// Kubernetes has not allocated yet (nodePort, healthCheckNodePort) get numbers from the top
// of the NodePort range, listed in Placeholders. cc may be nil. Errors are those of
// EnsureLoadBalancer: *annotations.InvalidError, providers.UserError,
// cloudprovider.ImplementedElsewhere.
func DesiredModel(svc *v1.Service, nodes []*v1.Node, cc *CloudConfig, clusterName string) (*Desired, error) {
	if cc == nil {
		cc = &CloudConfig{}
	}
	svc, placeholders := withPlaceholderPorts(svc)
	cfg, err := config(svc)
	if err != nil {
		return nil, err
	}
	settings := (&Cloud{cfg: cc}).settings(clusterName)
	subnets, notes := offlineSubnets(cfg.AWS, settings.Cluster)
	placeholders = append(placeholders, notes...)
	in := Input{Service: svc, Nodes: nodes, AWS: cfg.AWS, Core: cfg.Core, Settings: settings, Subnets: subnets}
	d := &Desired{Service: serviceName(svc), Placeholders: placeholders}
	if cfg.AWS.Type == annotations.AWSTypeNLB {
		d.Type = "nlb"
		d.Model, err = BuildNLB(in)
	} else {
		d.Type = "classic"
		d.Model, err = Build(in)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// placeholderPortBase is where placeholder ports are counted down from: the top of the
// default NodePort range, where they are least likely to be mistaken for allocated ones.
const placeholderPortBase = 32767

// placeholderUID stands for the UID of a Service read from a manifest.
const placeholderUID = "00000000-0000-0000-0000-000000000000"

// withPlaceholderPorts returns a copy of svc whose unallocated nodePorts (and, for
// externalTrafficPolicy: Local, healthCheckNodePort) hold placeholder numbers, with a
// placeholder UID when it has none, and the notes naming them. Build skips ports without a
// nodePort, so a manifest would otherwise plan nothing.
func withPlaceholderPorts(svc *v1.Service) (*v1.Service, []string) {
	svc = svc.DeepCopy()
	used := map[int32]bool{svc.Spec.HealthCheckNodePort: true}
	for _, p := range svc.Spec.Ports {
		used[p.NodePort] = true
	}
	next := int32(placeholderPortBase)
	take := func() int32 {
		for used[next] {
			next--
		}
		used[next] = true
		return next
	}
	var notes []string
	if svc.UID == "" {
		// The names of the load balancer, its group and target groups derive from the UID.
		svc.UID = placeholderUID
		notes = append(notes, fmt.Sprintf("names: %s stands for \"a\" + the Service UID Kubernetes assigns", LoadBalancerName(svc)))
	}
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].NodePort == 0 {
			svc.Spec.Ports[i].NodePort = take()
			notes = append(notes, fmt.Sprintf("spec.ports[%d].nodePort %d stands for the port Kubernetes allocates", i, svc.Spec.Ports[i].NodePort))
		}
	}
	if svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal && svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = take()
		notes = append(notes, fmt.Sprintf("spec.healthCheckNodePort %d stands for the port Kubernetes allocates", svc.Spec.HealthCheckNodePort))
	}
	return svc, notes
}

// offlineSubnets stands in for the VPC's subnets: the named ones with Unresolved-style IDs,
// and as many discoverable ones (one per zone) as pinned addresses need, at least one.
func offlineSubnets(cfg *annotations.AWSConfig, cluster string) ([]Subnet, []string) {
	var out []Subnet
	for _, s := range cfg.Subnets {
		if strings.HasPrefix(s, "subnet-") {
			out = append(out, Subnet{ID: s, CIDR: fmt.Sprintf("<CIDR of %s, read at apply>", s)})
			continue
		}
		out = append(out, Subnet{ID: fmt.Sprintf("<subnet named %s, resolved at apply>", s), Tags: map[string]string{"Name": s},
			CIDR: fmt.Sprintf("<CIDR of the subnet named %s, read at apply>", s)})
	}
	if len(cfg.Subnets) > 0 {
		return out, nil
	}
	n := max(1, len(cfg.EIPAllocations), len(cfg.PrivateIPv4Addresses))
	tags := map[string]string{clusterTag(cluster): "shared", "kubernetes.io/role/elb": "1", "kubernetes.io/role/internal-elb": "1"}
	for i := range n {
		id, cidr := Unresolved, "<CIDR of the discovered subnet, read at apply>"
		if n > 1 {
			id = fmt.Sprintf("%s (zone %d)", Unresolved, i+1)
			cidr = fmt.Sprintf("<CIDR of the discovered subnet in zone %d, read at apply>", i+1)
		}
		out = append(out, Subnet{ID: id, Zone: fmt.Sprintf("zone-%d", i+1), Public: true, CIDR: cidr, Tags: tags})
	}
	note := "subnets: one per zone, discovered at apply by the tags kubernetes.io/role/elb (internal-elb for internal) and " + clusterTag(cluster)
	return slices.Clip(out), []string{note}
}
