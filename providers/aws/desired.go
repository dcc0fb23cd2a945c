package aws

import (
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
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
	svc, placeholders := providers.WithPlaceholders(svc, LoadBalancerName)
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
