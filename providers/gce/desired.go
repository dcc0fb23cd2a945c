package gce

import (
	"errors"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	cloudproviderapi "k8s.io/cloud-provider/api"

	"github.com/cloudlb/cloudlb/providers"
)

// Unresolved stands, in an offline model, for a value only the cloud knows (network tags of
// the instances); `cloudlb plan` prints it where apply would put the real one.
const Unresolved = "<discovered at apply>"

// Desired is the model Build makes for one Service, computed offline.
type Desired struct {
	// Service is "namespace/name".
	Service string `json:"service"`
	// Scheme is EXTERNAL or INTERNAL; Backend targetPool or backendService.
	Scheme  string `json:"scheme"`
	Backend string `json:"backend"`
	Model   *Model `json:"model"`
	// Placeholders say which values of Model stand for something not known offline.
	Placeholders []string `json:"placeholders,omitempty"`
}

// placeholderHealthCheckPort stands for an unallocated healthCheckNodePort.
const placeholderHealthCheckPort = 32767

// DesiredModel returns the desired load balancer of svc without any cloud call, for `cloudlb
// plan --cloud gce`. Values only the cloud or the API server knows become placeholders listed
// in Placeholders: the UID (and so the names), healthCheckNodePort, and the firewall target
// tags when gce.conf has no node-tags. Nodes whose provider ID names no project or a
// placeholder one ("gce://<project>/...", as plan makes them) get the model's project, so every
// path of the model names one project. cc may be nil. Errors are those of EnsureLoadBalancer:
// *annotations.InvalidError, providers.UserError, cloudprovider.ImplementedElsewhere.
func DesiredModel(svc *v1.Service, nodes []*v1.Node, cc *CloudConfig, clusterName string) (*Desired, error) {
	if cc == nil {
		cc = &CloudConfig{}
	}
	svc = svc.DeepCopy()
	var notes []string
	if svc.UID == "" {
		svc.UID = providers.PlaceholderUID
		notes = append(notes, fmt.Sprintf("names: %s stands for \"a\" + the Service UID Kubernetes assigns", LoadBalancerName(svc)))
	}
	if svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal && svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = placeholderHealthCheckPort
		notes = append(notes, fmt.Sprintf("spec.healthCheckNodePort %d stands for the port Kubernetes allocates", placeholderHealthCheckPort))
	}
	cfg, rbs, err := config(svc)
	if err != nil {
		return nil, err
	}
	cfgCopy := *cc
	if cfgCopy.Global.ProjectID == "" {
		cfgCopy.Global.ProjectID = "<project-id>"
		notes = append(notes, "project: <project-id> stands for project-id of gce.conf")
	}
	if cfgCopy.region() == "" {
		cfgCopy.Global.Region = "<region>"
		notes = append(notes, "region: <region> stands for the region of local-zone in gce.conf")
	}
	if cfg.GCE.Internal && cfgCopy.Global.SubnetworkName == "" && cfg.GCE.Frontend.Subnet == "" {
		notes = append(notes, "subnetwork: none set (subnetwork-name in gce.conf); GCE uses the network's subnetwork in the region")
	}
	settings := New(Options{Config: &cfgCopy}).settings(clusterName)
	nodes = placeholderProjects(nodes, settings.Project)
	tags := cc.Global.NodeTags
	if len(tags) == 0 {
		tags = []string{Unresolved}
		notes = append(notes, "firewall targetTags: computed at apply from the node instances' network tags (set node-tags in gce.conf to fix them)")
	}
	m, err := Build(Input{Service: svc, Nodes: nodes, GCE: cfg.GCE, Core: cfg.Core, Settings: settings, NodeTags: tags, RBS: rbs})
	if errors.Is(err, errPortPending) {
		return nil, cloudproviderapi.NewRetryError(err.Error(), portPendingDelay)
	}
	if err != nil {
		return nil, err
	}
	if m.Address.IP == "" && !m.Address.UserOwned {
		notes = append(notes, "address: the IP is allocated by GCE when the address is reserved")
	}
	return &Desired{Service: serviceName(svc), Scheme: m.Scheme, Backend: m.Backend, Model: m, Placeholders: notes}, nil
}

// placeholderProjects returns nodes whose provider IDs name no project ("gce:///zone/name")
// or a placeholder ("gce://<project>/zone/name") with project instead, so that the offline
// model's instance URLs name the same project as the rest of the model.
func placeholderProjects(nodes []*v1.Node, project string) []*v1.Node {
	out := make([]*v1.Node, 0, len(nodes))
	for _, n := range nodes {
		rest, ok := strings.CutPrefix(n.Spec.ProviderID, "gce://")
		if p, tail, found := strings.Cut(rest, "/"); ok && found && (p == "" || strings.HasPrefix(p, "<")) {
			n = n.DeepCopy()
			n.Spec.ProviderID = "gce://" + project + "/" + tail
		}
		out = append(out, n)
	}
	return out
}
