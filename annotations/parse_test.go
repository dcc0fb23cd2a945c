package annotations

import (
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// coreSvc builds a LoadBalancer Service with one TCP port and the given annotations.
func coreSvc(ann map[string]string, mut ...func(*v1.Service)) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Annotations: ann},
		Spec: v1.ServiceSpec{
			Type:  v1.ServiceTypeLoadBalancer,
			Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP, NodePort: 30080}},
		},
	}
	for _, m := range mut {
		m(svc)
	}
	return svc
}

// coreFind returns the problems about key.
func coreFind(ps Problems, key string) Problems {
	var out Problems
	for _, p := range ps {
		if p.Key == key {
			out = append(out, p)
		}
	}
	return out
}

func TestParseSourceRanges(t *testing.T) {
	t.Parallel()
	key := CoreSourceRanges.Key
	for _, tc := range []struct {
		name     string
		ann      map[string]string
		spec     []string
		families []v1.IPFamily
		want     []string
		from     string
		problem  string // substring of the one expected problem about the key, "" for none
		severity Severity
	}{
		{name: "default", want: []string{"0.0.0.0/0"}, from: "default"},
		{name: "default dual-stack", families: []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol}, want: []string{"0.0.0.0/0", "::/0"}, from: "default"},
		{name: "annotation trimmed", ann: map[string]string{key: " 10.0.0.0/8 , 192.168.0.0/16"}, want: []string{"10.0.0.0/8", "192.168.0.0/16"}, from: "annotation"},
		{name: "spec wins", ann: map[string]string{key: "10.0.0.0/8"}, spec: []string{"203.0.113.0/24"}, want: []string{"203.0.113.0/24"}, from: "spec", problem: "takes precedence", severity: Warning},
		{name: "bad CIDR", ann: map[string]string{key: "10.0.0.0/8,not-a-cidr"}, want: []string{"0.0.0.0/0"}, from: "default", problem: `"not-a-cidr" is not a CIDR`, severity: Error},
		{name: "empty is unset", ann: map[string]string{key: ""}, want: []string{"0.0.0.0/0"}, from: "default", problem: "empty value, treated as unset", severity: Warning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := coreSvc(tc.ann, func(s *v1.Service) {
				s.Spec.LoadBalancerSourceRanges = tc.spec
				s.Spec.IPFamilies = tc.families
			})
			cfg, ps := Parse(svc, AWS)
			var got []string
			for _, p := range cfg.Core.SourceRanges {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tc.want) || cfg.Core.SourceRangesFrom != tc.from {
				t.Errorf("source ranges = %v from %s, want %v from %s", got, cfg.Core.SourceRangesFrom, tc.want, tc.from)
			}
			found := coreFind(ps, key)
			if tc.problem == "" {
				if len(found) != 0 {
					t.Errorf("unexpected problems: %v", found)
				}
				return
			}
			if len(found) != 1 || !strings.Contains(found[0].Reason, tc.problem) || found[0].Severity != tc.severity {
				t.Errorf("problems = %v, want one %s containing %q", found, tc.severity, tc.problem)
			}
		})
	}
}

func TestParseClassifiesUnknownKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key, want string
	}{
		{"service.beta.kubernetes.io/load-balancer-source-range", "did you mean service.beta.kubernetes.io/load-balancer-source-ranges?"},
		{"service.beta.kubernetes.io/aws-load-balancer-healthcheck-intervall", "did you mean service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval?"},
		{"service.beta.kubernetes.io/azure-load-balancer-internall", "did you mean service.beta.kubernetes.io/azure-load-balancer-internal?"},
		{"networking.gke.io/load-balancer-typ", "did you mean networking.gke.io/load-balancer-type?"},
		{"service.beta.kubernetes.io/openstack-internal-load-balancer", "belongs to OpenStack, ignored"},
		{"service.kubernetes.io/qcloud-loadbalancer-internal-subnetid", "belongs to Tencent Cloud, ignored"},
		{"service.beta.kubernetes.io/cce-load-balancer-internal-vpc", "belongs to Baidu Cloud, ignored"},
		{"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec", "belongs to Alibaba Cloud, ignored"},
		{"service.beta.kubernetes.io/do-loadbalancer-protocol", "belongs to DigitalOcean, ignored"},
		{"service.beta.kubernetes.io/oci-load-balancer-shape", "belongs to Oracle Cloud, ignored"},
		{"service.beta.kubernetes.io/aws-completely-made-up-thing-that-is-long", "unknown annotation, ignored"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			t.Parallel()
			_, ps := Parse(coreSvc(map[string]string{tc.key: "x"}), AnyCloud)
			found := coreFind(ps, tc.key)
			if len(found) != 1 || found[0].Severity != Warning || !strings.Contains(found[0].Reason, tc.want) {
				t.Errorf("problems = %v, want one warning %q", found, tc.want)
			}
		})
	}
	_, ps := Parse(coreSvc(map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}", "app.kubernetes.io/name": "x"}), AnyCloud)
	if len(ps) != 0 {
		t.Errorf("keys of other domains must be ignored silently, got %v", ps)
	}
}

func TestParseOtherCloudsKeysAreIgnoredWithAWarning(t *testing.T) {
	t.Parallel()
	key := "service.beta.kubernetes.io/azure-load-balancer-health-probe-num-of-probe"
	_, ps := Parse(coreSvc(map[string]string{key: "many"}), AWS)
	found := coreFind(ps, key)
	if len(found) != 1 || found[0].Severity != Warning || !strings.Contains(found[0].Reason, "belongs to azure, ignored by the aws provider") {
		t.Errorf("problems = %v", found)
	}
	// Without a cloud, the same key is checked against Azure's rules.
	_, ps = Parse(coreSvc(map[string]string{key: "many"}), AnyCloud)
	found = coreFind(ps, key)
	if len(found) != 1 || found[0].Severity != Error {
		t.Errorf("AnyCloud problems = %v, want an error", found)
	}
}

func TestParseSpecChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		mut   func(*v1.Service)
		field string
	}{
		{"port out of range", func(s *v1.Service) { s.Spec.Ports[0].Port = 70000 }, "spec.ports[0].port"},
		{"no ports", func(s *v1.Service) { s.Spec.Ports = nil }, "spec.ports"},
		{"duplicate port", func(s *v1.Service) { s.Spec.Ports = append(s.Spec.Ports, s.Spec.Ports[0]) }, "spec.ports[1].port"},
		{"bad protocol", func(s *v1.Service) { s.Spec.Ports[0].Protocol = "ICMP" }, "spec.ports[0].protocol"},
		{"bad source range", func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8", "nope"} }, "spec.loadBalancerSourceRanges[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, ps := Parse(coreSvc(nil, tc.mut), AnyCloud)
			if found := coreFind(ps, tc.field); len(found) != 1 || found[0].Severity != Error {
				t.Errorf("problems = %v, want one error on %s", ps, tc.field)
			}
		})
	}
}

func TestProblemsErr(t *testing.T) {
	t.Parallel()
	_, ps := Parse(coreSvc(map[string]string{CoreSourceRanges.Key: "bad"}), AWS)
	err := ps.Err("shop/web")
	var inv *InvalidError
	if !asInvalid(err, &inv) || len(inv.Problems) != 1 {
		t.Fatalf("Err = %v, want *InvalidError with one problem", err)
	}
	want := `service shop/web: invalid configuration: service.beta.kubernetes.io/load-balancer-source-ranges: "bad": "bad" is not a CIDR (allowed: comma-separated CIDRs)`
	if err.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", err, want)
	}
	if Problems(nil).Err("x") != nil {
		t.Error("no problems must give a nil error")
	}
}
