package gce

import (
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
