package aws

import (
	"errors"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/cloudlb/cloudlb/annotations"
)

func TestDesiredModelOffline(t *testing.T) {
	t.Parallel()
	unallocated := func(s *v1.Service) {
		s.UID = ""
		for i := range s.Spec.Ports {
			s.Spec.Ports[i].NodePort = 0
		}
	}
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		wantType    string
		wantSubnets []string
		wantErr     error
	}{
		{name: "classic discovers", wantType: "classic", wantSubnets: []string{Unresolved}},
		{name: "named and explicit subnets", annotations: map[string]string{ann + "subnets": "subnet-0b1c2d3e, pub-a"}, wantType: "classic",
			wantSubnets: []string{"<subnet named pub-a, resolved at apply>", "subnet-0b1c2d3e"}},
		{name: "nlb with one EIP per discovered subnet", annotations: map[string]string{ann + "type": "nlb", ann + "eip-allocations": "eipalloc-0a1b2c3d,eipalloc-0a1b2c3e"},
			wantType: "nlb", wantSubnets: []string{Unresolved + " (zone 1)", Unresolved + " (zone 2)"}},
		{name: "external is served elsewhere", annotations: map[string]string{ann + "type": "external"}, wantErr: cloudprovider.ImplementedElsewhere},
		{name: "invalid annotation", annotations: map[string]string{ann + "healthcheck-interval": "3"}, wantErr: &annotations.InvalidError{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := testService(tc.annotations, unallocated)
			d, err := DesiredModel(svc, testNodes(), nil, "demo")
			if tc.wantErr != nil {
				var invalid *annotations.InvalidError
				if !errors.Is(err, tc.wantErr) && !(errors.As(tc.wantErr, &invalid) && errors.As(err, &invalid)) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if svc.UID != "" || svc.Spec.Ports[0].NodePort != 0 {
				t.Error("DesiredModel changed its input")
			}
			var subnets []string
			switch m := d.Model.(type) {
			case *Model:
				subnets = m.Subnets
				if m.Listeners[0].InstancePort == 0 {
					t.Error("listener without a placeholder nodePort")
				}
			case *NLBModel:
				subnets = m.Subnets
			}
			if d.Type != tc.wantType || !slices.Equal(subnets, tc.wantSubnets) {
				t.Errorf("type %s subnets %q, want %s %q", d.Type, subnets, tc.wantType, tc.wantSubnets)
			}
			if len(d.Placeholders) < 3 { // the UID and two nodePorts at least
				t.Errorf("placeholders %q", d.Placeholders)
			}
		})
	}
}
