package gce

import (
	"testing"

	"github.com/cloudlb/cloudlb/providers"
)

// The descriptions below are what cloud-provider-gcp v0.28.2 writes (providers/gce):
// gce_loadbalancer_naming.go makeServiceDescription (rules, addresses, target pools),
// makeFirewallDescription (traffic firewalls), makeBackendServiceDescription ("" when shared),
// gce_loadbalancer_external.go makeHTTPHealthCheck (the check's own name) and
// ensureHTTPHealthCheckFirewall ({"kubernetes.io/cluster-id":...} for the node check),
// gce_loadbalancer_internal.go newInternalLBHealthCheck ("" when shared) and
// ensureInternalFirewalls ("" for the health-check firewall); instance groups get none.
func TestOwns(t *testing.T) {
	t.Parallel()
	m := &Model{Name: "a1234", Service: "ns/web", ClusterID: "0123456789abcdef"}
	tests := []struct {
		name, object, desc string
		want               bool
	}{
		{"cloudlb's rule", "a1234", `{"kubernetes.io/service-name":"ns/web","kubernetes.io/cluster-id":"0123456789abcdef"}`, true},
		{"another cluster's cloudlb rule", "a1234", `{"kubernetes.io/service-name":"ns/web","kubernetes.io/cluster-id":"other"}`, false},
		{"upstream's rule", "a1234", `{"kubernetes.io/service-name":"ns/web"}`, true},
		{"upstream's ILB rule with api version", "a1234", `{"kubernetes.io/service-name":"ns/web","kubernetes.io/api-version":"ga"}`, true},
		{"upstream's rule of another Service", "a1234", `{"kubernetes.io/service-name":"ns/other"}`, false},
		{"a rule without description", "a1234", "", false},
		{"a hand-made rule", "a1234", "made by hand", false},
		{"upstream's traffic firewall", "k8s-fw-a1234", `{"kubernetes.io/service-name":"ns/web", "kubernetes.io/service-ip":"34.1.2.3"}`, true},
		{"upstream's external health check names itself", "a1234", `{"kubernetes.io/service-name":"a1234"}`, true},
		{"a check naming another object", "a1234", `{"kubernetes.io/service-name":"a9999"}`, false},
		{"upstream's ILB health-check firewall", "a1234-hc", "", true},
		{"upstream's Local health-check firewall", "k8s-a1234-http-hc", `{"kubernetes.io/service-name":"ns/web", "kubernetes.io/service-ip":"34.1.2.3"}`, true},
		{"an empty traffic firewall", "k8s-fw-a1234", "", false},
		{"upstream's node HTTP check", "k8s-0123456789abcdef-node", `{"kubernetes.io/service-name":"k8s-0123456789abcdef-node"}`, true},
		{"upstream's node check (ILB)", "k8s-0123456789abcdef-node", "", true},
		{"upstream's node check firewall", "k8s-0123456789abcdef-node-http-hc", `{"kubernetes.io/cluster-id":"0123456789abcdef"}`, true},
		{"upstream's ILB node check firewall", "k8s-0123456789abcdef-node-hc", "", true},
		{"upstream's instance group", "k8s-ig--0123456789abcdef", "", true},
		{"upstream's shared backend service", "k8s-0123456789abcdef-internal-tcp-nmv1-0123456789abcdef", "", true},
		{"another cluster's node check", "k8s-fedcba9876543210-node", "", false},
		{"a shared name with a Service's description", "k8s-0123456789abcdef-node", `{"kubernetes.io/service-name":"ns/web"}`, false},
		{"cloudlb's shared check", "k8s-0123456789abcdef-node", `{"kubernetes.io/cluster-id":"0123456789abcdef"}`, true},
	}
	for _, tt := range tests {
		if got := owns(m, tt.object, tt.desc); got != tt.want {
			t.Errorf("%s: owns(%q, %q) = %v, want %v", tt.name, tt.object, tt.desc, got, tt.want)
		}
	}
}

func TestLabelOwner(t *testing.T) {
	t.Parallel()
	m := &Model{ClusterID: "c1"}
	for _, tt := range []struct {
		labels map[string]string
		want   bool
	}{{nil, true}, {map[string]string{ownerLabel: "c1"}, true}, {map[string]string{ownerLabel: "c2"}, false}, {map[string]string{specLabel: "x"}, true}} {
		if got := labelOwner(tt.labels, m); got != tt.want {
			t.Errorf("labelOwner(%v) = %v, want %v", tt.labels, got, tt.want)
		}
	}
}

// adoptedILB is what upstream leaves for an internal Service: the backend service on the
// global node health check, the address released or kept, no cloudlb labels.
func adoptedILB(t *testing.T, keepAddress bool) (*Model, *Observed) {
	m := mustBuild(t, testService(map[string]string{annType: "Internal"}))
	o := applied(m, "10.128.0.9")
	b := o.BackendServices[m.BackendService.Name]
	b.HealthCheckGlobal = true
	o.BackendServices[m.BackendService.Name] = b
	delete(o.HealthChecks, hcKey(m.HealthCheck.Kind, m.HealthCheck.Name))
	hc := m.HealthCheck
	hc.Kind = HealthCheckGlobal
	o.HealthChecks[hcKey(HealthCheckGlobal, hc.Name)] = ObservedHealthCheck{HealthCheck: hc, Owned: true}
	for name, r := range o.Rules {
		r.Labels = nil
		o.Rules[name] = r
	}
	if keepAddress {
		o.Address.Labels = nil
	} else {
		o.Address = nil
	}
	return m, o
}

func TestAdoptDiff(t *testing.T) {
	t.Parallel()
	for _, keep := range []bool{true, false} {
		m, o := adoptedILB(t, keep)
		p, err := Diff(adapt(m, o), o)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.RecreateRules) > 0 || len(p.CreateRules) > 0 || p.HealthCheck != nil || p.BackendService != nil || len(p.DeleteHealthChecks) > 0 {
			t.Errorf("address kept %v: adopting re-creates or switches: %+v", keep, p)
		}
		if !p.SetSpec || p.LabelAddress != keep || p.PromoteAddress == keep || p.CreateAddress == keep || p.IP != "10.128.0.9" {
			t.Errorf("address kept %v: labels and address: %+v", keep, p)
		}
		if got := adapt(m, o).SpecHash(); got != m.SpecHash() {
			t.Errorf("the adapted model's spec hash %s differs from the Service's %s", got, m.SpecHash())
		}
	}
}

func TestGuard(t *testing.T) {
	t.Parallel()
	ilbAnn := map[string]string{annType: "Internal"}
	ext := mustBuild(t, testService(nil))
	ilb := mustBuild(t, testService(ilbAnn))
	asked := mustBuild(t, testService(map[string]string{"cloudlb.io/replace-load-balancer": "now"}))
	rule := func(m *Model, recorded string) *ObservedRule {
		r := ObservedRule{Rule: m.ForwardingRules[0], IP: "10.128.0.9", Owned: true, Labels: map[string]string{}}
		if recorded != "" {
			r.Labels[replaceKeyLabel] = recorded
		}
		return &r
	}
	tests := []struct {
		name        string
		want        *Model
		have        *ObservedRule
		wantRefused []string
		wantScheme  string
	}{
		{"upstream's ILB, Service now external", ext, rule(ilb, ""), []string{fieldScheme}, SchemeInternal},
		{"key recorded when the Service was already external", ext, rule(ilb, ext.ReplaceKey), []string{fieldScheme}, SchemeInternal},
		{"the author changed the scheme since cloudlb applied", ext, rule(ilb, ilb.ReplaceKey), nil, SchemeExternal},
		{"the author asked for the replacement", asked, rule(ilb, ext.ReplaceKey), nil, SchemeExternal},
		{"no replacement needed", ilb, rule(ilb, ""), nil, SchemeInternal},
	}
	for _, tt := range tests {
		kept, changes, err := keepForGuard(tt.want, tt.have)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var fields []string
		for _, c := range changes {
			fields = append(fields, c.Field)
		}
		if len(fields) != len(tt.wantRefused) || len(fields) > 0 && fields[0] != tt.wantRefused[0] || kept.Scheme != tt.wantScheme {
			t.Errorf("%s: refused %v scheme %s, want %v %s", tt.name, fields, kept.Scheme, tt.wantRefused, tt.wantScheme)
		}
		if len(changes) > 0 && (kept.ReplaceKey != tt.want.ReplaceKey || kept.SpecHash() != tt.want.SpecHash()) {
			t.Errorf("%s: the kept model does not record the Service's key and spec", tt.name)
		}
		if err := refusedError(tt.want, changes, "10.128.0.9"); (err != nil) != (len(changes) > 0) || err != nil && providers.AsReplacementRefused(err).Status.Ingress[0].IP != "10.128.0.9" {
			t.Errorf("%s: refusedError = %v", tt.name, err)
		}
	}
}
