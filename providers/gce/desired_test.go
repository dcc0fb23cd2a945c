package gce

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"
)

func TestDesiredModel(t *testing.T) {
	t.Parallel()
	manifest := testService(map[string]string{annType: "Internal"}, func(s *v1.Service) {
		s.UID = ""
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
	})
	d, err := DesiredModel(manifest, testNodes(), nil, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if d.Scheme != SchemeInternal || d.Backend != BackendService || d.Model.HealthCheck.Port != placeholderHealthCheckPort {
		t.Errorf("desired = %+v", d)
	}
	notes := strings.Join(d.Placeholders, "\n")
	for _, want := range []string{"Service UID", "healthCheckNodePort", "project-id", "node-tags"} {
		if !strings.Contains(notes, want) {
			t.Errorf("placeholders lack %q:\n%s", want, notes)
		}
	}
	if manifest.UID != "" || manifest.Spec.HealthCheckNodePort != 0 {
		t.Error("DesiredModel changed its input")
	}

	cc, err := ParseCloudConfig(strings.NewReader("[global]\nproject-id = p\nlocal-zone = us-east1-b\nnode-tags = t1\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err = DesiredModel(testService(nil), nil, cc, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if d.Model.Project != "p" || d.Model.Region != "us-east1" || d.Model.Firewalls[0].TargetTags[0] != "t1" {
		t.Errorf("config not used: %+v", d.Model)
	}

	class := "networking.gke.io/l4-regional-external"
	_, err = DesiredModel(testService(nil, func(s *v1.Service) { s.Spec.LoadBalancerClass = &class }), nil, nil, "demo")
	if !errors.Is(err, cloudprovider.ImplementedElsewhere) {
		t.Errorf("GKE class: err = %v", err)
	}
}

// TestDesiredModelPathsKeepPlaceholders: every partial URL of an offline model names a
// project and a region (the placeholders when gce.conf lacks them), never "projects//".
func TestDesiredModelPathsKeepPlaceholders(t *testing.T) {
	t.Parallel()
	conf := func(s string) *CloudConfig {
		cc, err := ParseCloudConfig(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return cc
	}
	configs := map[string]*CloudConfig{
		"none":               nil,
		"zone only":          conf("[global]\nlocal-zone = us-east1-b\n"),
		"project only":       conf("[global]\nproject-id = p\n"),
		"subnetwork only":    conf("[global]\nsubnetwork-name = nodes\n"),
		"network project":    conf("[global]\nnetwork-project-id = host\n"),
		"network by name":    conf("[global]\nnetwork-name = vpc\nsubnetwork-name = nodes\n"),
		"project and region": conf("[global]\nproject-id = p\nregion = europe-west1\n"),
	}
	// Nodes as cloudlb plan makes them: a placeholder project, or none.
	nodes := []*v1.Node{testNode("p1", "us-central1-a", nil), testNode("p2", "us-central1-b", nil)}
	nodes[0].Spec.ProviderID = "gce://<project>/us-central1-a/p1"
	nodes[1].Spec.ProviderID = "gce:///us-central1-b/p2"
	services := map[string]*v1.Service{
		"external":        testService(nil),
		"external local":  testService(nil, local),
		"rbs mixed":       testService(map[string]string{"cloud.google.com/l4-rbs": "enabled"}, withUDP),
		"internal":        testService(map[string]string{annType: "Internal"}),
		"internal subnet": testService(map[string]string{annType: "Internal", "networking.gke.io/internal-load-balancer-subnet": "ilb"}, withUDP),
		"internal shared": testService(map[string]string{annType: "Internal", "alpha.cloud.google.com/load-balancer-backend-share": "true"}),
	}
	for cn, cc := range configs {
		for sn, s := range services {
			d, err := DesiredModel(s, nodes, cc, "demo")
			if err != nil {
				t.Fatalf("%s / %s: %v", cn, sn, err)
			}
			b, err := json.Marshal(d.Model)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"projects//", "/regions//", "/zones//", "//subnetworks", "//global"} {
				if strings.Contains(string(b), bad) {
					t.Errorf("%s / %s: model has %q:\n%s", cn, sn, bad, b)
				}
			}
			for _, inst := range instancesOf(d.Model) {
				if !strings.HasPrefix(inst, "projects/"+d.Model.Project+"/zones/") {
					t.Errorf("%s / %s: instance %q not in the model's project %s", cn, sn, inst, d.Model.Project)
				}
			}
			for _, sub := range []string{d.Model.Address.Subnetwork} {
				if sub != "" && !strings.HasPrefix(sub, "projects/") {
					t.Errorf("%s / %s: subnetwork %q", cn, sn, sub)
				}
			}
		}
	}
}

func withUDP(s *v1.Service) {
	s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "dns", Protocol: v1.ProtocolUDP, Port: 53, NodePort: 30053})
}

// instancesOf are the model's project-qualified URLs of the nodes: the target pool's
// instances, or the backend service's instance groups.
func instancesOf(m *Model) []string {
	if m.TargetPool != nil {
		return m.TargetPool.Instances
	}
	return m.BackendService.Backends
}
