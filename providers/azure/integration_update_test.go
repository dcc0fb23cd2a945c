package azure_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"
)

// TestEachAnnotationChangeApplied changes one setting at a time on a live Service and
// checks the cloud state after each reconcile.
func TestEachAnnotationChangeApplied(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	svc := service("web", uid(1), map[string]string{})
	e.ensure(svc)
	p := svcPrefix(svc)
	managed := cluster + "-" + p
	set := func(k, v string) func(*v1.Service) { return func(s *v1.Service) { s.Annotations[prefix+k] = v } }
	unset := func(k string) func(*v1.Service) { return func(s *v1.Service) { delete(s.Annotations, prefix+k) } }
	rule := func(e *env, name string) *armnetwork.LoadBalancingRulePropertiesFormat {
		t.Helper()
		lb := e.lb(cluster)
		if lb == nil {
			t.Fatal("no public load balancer")
		}
		r := ruleByName(lb, p+name)
		if r == nil {
			t.Fatalf("rule %s missing", p+name)
		}
		return r
	}
	steps := []struct {
		name   string
		change func(*v1.Service)
		check  func(t *testing.T, st *v1.LoadBalancerStatus)
	}{
		{"idle timeout", set("azure-load-balancer-tcp-idle-timeout", "30"), func(t *testing.T, _ *v1.LoadBalancerStatus) {
			if v := *rule(e, "-TCP-443").IdleTimeoutInMinutes; v != 30 {
				t.Errorf("idle timeout %d", v)
			}
		}},
		{"tcp reset off", set("azure-load-balancer-disable-tcp-reset", "true"), func(t *testing.T, _ *v1.LoadBalancerStatus) {
			if *rule(e, "-TCP-443").EnableTCPReset {
				t.Error("tcp reset still on")
			}
		}},
		{"session affinity", func(s *v1.Service) { s.Spec.SessionAffinity = v1.ServiceAffinityClientIP }, func(t *testing.T, _ *v1.LoadBalancerStatus) {
			if v := *rule(e, "-TCP-80").LoadDistribution; v != "SourceIP" {
				t.Errorf("load distribution %s", v)
			}
		}},
		{"floating ip off", set("azure-disable-load-balancer-floating-ip", "true"), func(t *testing.T, _ *v1.LoadBalancerStatus) {
			r := rule(e, "-TCP-443")
			if *r.EnableFloatingIP || *r.BackendPort != 30443 {
				t.Errorf("floating %v backend %d", *r.EnableFloatingIP, *r.BackendPort)
			}
			nsg := e.securityRules()[p+"-TCP-Internet"]
			if got := sorted(derefs(nsg.DestinationAddressPrefixes)); !slices.Equal(got, []string{"10.240.0.4", "10.240.0.5", "10.240.0.6"}) {
				t.Errorf("NSG destinations without floating IP %v, want the nodes", got)
			}
		}},
		{"floating ip on", unset("azure-disable-load-balancer-floating-ip"), func(t *testing.T, st *v1.LoadBalancerStatus) {
			if r := rule(e, "-TCP-443"); !*r.EnableFloatingIP || *r.BackendPort != 443 {
				t.Errorf("floating %v backend %d", *r.EnableFloatingIP, *r.BackendPort)
			}
			if nsg := e.securityRules()[p+"-TCP-Internet"]; *nsg.DestinationAddressPrefix != st.Ingress[0].IP {
				t.Errorf("NSG destination %v", *nsg.DestinationAddressPrefix)
			}
		}},
		{"http probe", func(s *v1.Service) {
			s.Annotations[prefix+"azure-load-balancer-health-probe-protocol"] = "Http"
			s.Annotations[prefix+"azure-load-balancer-health-probe-request-path"] = "/ready"
		}, func(t *testing.T, _ *v1.LoadBalancerStatus) {
			pr := probeByName(e.lb(cluster), p+"-TCP-443")
			if *pr.Protocol != "Http" || *pr.RequestPath != "/ready" || *pr.Port != 30443 {
				t.Errorf("probe %s %s %d", *pr.Protocol, *pr.RequestPath, *pr.Port)
			}
		}},
		{"local traffic policy", func(s *v1.Service) {
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 32000
			delete(s.Annotations, prefix+"azure-load-balancer-health-probe-protocol")
			delete(s.Annotations, prefix+"azure-load-balancer-health-probe-request-path")
		}, func(t *testing.T, _ *v1.LoadBalancerStatus) {
			lb := e.lb(cluster)
			pr := probeByName(lb, p+"-TCP-32000")
			if pr == nil || *pr.Protocol != "Http" || *pr.RequestPath != "/healthz" || *pr.Port != 32000 {
				t.Fatalf("local probe %+v", pr)
			}
			if probeByName(lb, p+"-TCP-443") != nil {
				t.Error("per-port probe left")
			}
			if id := *ruleByName(lb, p+"-TCP-80").Probe.ID; !strings.HasSuffix(id, "/probes/"+p+"-TCP-32000") {
				t.Errorf("rule 80 probe %s", id)
			}
		}},
		{"no lb rule for 80", set("port_80_no_lb_rule", "true"), func(t *testing.T, _ *v1.LoadBalancerStatus) {
			if ruleByName(e.lb(cluster), p+"-TCP-80") != nil {
				t.Error("rule 80 still there")
			}
		}},
		{"source ranges and deny all", func(s *v1.Service) {
			delete(s.Annotations, prefix+"port_80_no_lb_rule")
			s.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24", "192.0.2.0/24"}
			s.Annotations[prefix+"azure-deny-all-except-load-balancer-source-ranges"] = "true"
		}, func(t *testing.T, _ *v1.LoadBalancerStatus) {
			rules := e.securityRules()
			if rules[p+"-TCP-Internet"] != nil {
				t.Error("Internet rule left")
			}
			allow := rules[p+"-TCP-SourceRanges"]
			if allow == nil || !slices.Equal(sorted(derefs(allow.SourceAddressPrefixes)), []string{"192.0.2.0/24", "203.0.113.0/24"}) {
				t.Fatalf("source range rule %+v", allow)
			}
			deny := rules[p+"-DenyAll"]
			if deny == nil || *deny.Access != "Deny" || *deny.Priority != 4096 || *deny.Priority <= *allow.Priority {
				t.Errorf("deny rule %+v", deny)
			}
		}},
		{"service tags", func(s *v1.Service) {
			s.Spec.LoadBalancerSourceRanges = nil
			delete(s.Annotations, prefix+"azure-deny-all-except-load-balancer-source-ranges")
			s.Annotations[prefix+"azure-allowed-service-tags"] = "AzureFrontDoor.Backend"
		}, func(t *testing.T, _ *v1.LoadBalancerStatus) {
			rules := e.securityRules()
			if r := rules[p+"-TCP-AzureFrontDoor.Backend"]; r == nil || *r.SourceAddressPrefix != "AzureFrontDoor.Backend" {
				t.Errorf("service tag rule %+v", r)
			}
			if rules[p+"-DenyAll"] != nil || rules[p+"-TCP-SourceRanges"] != nil {
				t.Error("stale rules left")
			}
		}},
		{"nsg rule disabled", set("azure-disable-load-balancer-nsg-rule", "true"), func(t *testing.T, _ *v1.LoadBalancerStatus) {
			for n := range e.securityRules() {
				if strings.HasPrefix(n, p) {
					t.Errorf("rule %s left with the NSG rule disabled", n)
				}
			}
		}},
		{"dns label and pip tags", func(s *v1.Service) {
			delete(s.Annotations, prefix+"azure-disable-load-balancer-nsg-rule")
			s.Annotations[prefix+"azure-dns-label-name"] = "shop-web"
			s.Annotations[prefix+"azure-pip-tags"] = "team=shop"
		}, func(t *testing.T, _ *v1.LoadBalancerStatus) {
			pip := e.pip(managed)
			if pip.Properties.DNSSettings == nil || *pip.Properties.DNSSettings.DomainNameLabel != "shop-web" || *pip.Tags["team"] != "shop" {
				t.Errorf("public IP dns %+v tags %v", pip.Properties.DNSSettings, pip.Tags)
			}
		}},
		{"dns label removed", set("azure-dns-label-name", ""), func(t *testing.T, _ *v1.LoadBalancerStatus) {
			if d := e.pip(managed).Properties.DNSSettings; d != nil && d.DomainNameLabel != nil && *d.DomainNameLabel != "" {
				t.Errorf("dns label left: %s", *d.DomainNameLabel)
			}
		}},
		{"to internal", set("azure-load-balancer-internal", "true"), func(t *testing.T, st *v1.LoadBalancerStatus) {
			if e.lb(cluster) != nil {
				t.Error("public load balancer left after the only Service moved")
			}
			if e.pip(managed) != nil {
				t.Error("managed public IP left after the move to internal")
			}
			if got := frontendNames(e.lb(cluster + "-internal")); !slices.Equal(got, []string{p}) || !strings.HasPrefix(st.Ingress[0].IP, "10.240.") {
				t.Errorf("internal frontends %v ingress %v", got, st.Ingress)
			}
		}},
		{"user public IP", func(s *v1.Service) {
			delete(s.Annotations, prefix+"azure-load-balancer-internal")
			delete(s.Annotations, prefix+"azure-dns-label-name")
			delete(s.Annotations, prefix+"azure-pip-tags")
			s.Annotations[prefix+"azure-pip-name"] = userPIP
		}, func(t *testing.T, st *v1.LoadBalancerStatus) {
			if e.lb(cluster+"-internal") != nil {
				t.Error("internal load balancer left after the move to public")
			}
			user := e.pip(userPIP)
			if st.Ingress[0].IP != *user.Properties.IPAddress || len(user.Tags) != 1 {
				t.Errorf("ingress %v, user public IP %s tags %v", st.Ingress, *user.Properties.IPAddress, user.Tags)
			}
			if e.pip(managed) != nil {
				t.Error("a managed public IP was created for a user public IP")
			}
		}},
		{"back to managed", unset("azure-pip-name"), func(t *testing.T, st *v1.LoadBalancerStatus) {
			pip := e.pip(managed)
			if pip == nil || st.Ingress[0].IP != *pip.Properties.IPAddress {
				t.Fatalf("managed public IP %+v, ingress %v", pip, st.Ingress)
			}
			if user := e.pip(userPIP); user == nil || len(user.Tags) != 1 {
				t.Error("the user's public IP was touched when released")
			}
		}},
	}
	for _, step := range steps {
		step.change(svc)
		st := e.ensure(svc)
		t.Run(step.name, func(t *testing.T) { step.check(t, st) })
		e.srv.ResetCalls()
		e.ensure(svc)
		if w, _, calls := e.counts(); w != 0 {
			t.Errorf("%s: the reconcile after the change was not a no-op: %v", step.name, calls)
		}
	}
}

func derefs(p []*string) []string {
	out := make([]string, 0, len(p))
	for _, s := range p {
		out = append(out, *s)
	}
	return out
}

func TestSharedProbeMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, `"clusterServiceLoadBalancerHealthProbeMode": "shared"`)
	a, b := service("a", uid(1), nil), service("b", uid(2), nil)
	e.ensure(a)
	e.ensure(b)
	lb := e.lb(cluster)
	pr := probeByName(lb, "cluster-service-shared-health-probe")
	if pr == nil || *pr.Port != 10256 || *pr.RequestPath != "/healthz" || *pr.Protocol != "Http" {
		t.Fatalf("shared probe %+v", pr)
	}
	if len(lb.Properties.Probes) != 1 {
		t.Errorf("%d probes, want only the shared one", len(lb.Properties.Probes))
	}
	e.remove(a)
	if probeByName(e.lb(cluster), "cluster-service-shared-health-probe") == nil {
		t.Error("shared probe removed while b still uses it")
	}
	local := service("local", uid(3), nil, func(s *v1.Service) {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 32100
	})
	e.ensure(local)
	e.remove(b)
	lb = e.lb(cluster)
	if probeByName(lb, "cluster-service-shared-health-probe") != nil {
		t.Error("shared probe left when no rule uses it")
	}
	if probeByName(lb, svcPrefix(local)+"-TCP-32100") == nil {
		t.Error("the Local Service's own probe is missing")
	}
}
