package aws

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/cloudlb/cloudlb/providers"
)

// applied is what the cloud holds after a model was fully applied, managed group sg-1.
func applied(m *Model) *Observed {
	o := &Observed{
		Exists: true, DNSName: "x.elb.amazonaws.com", Internal: m.Internal,
		Listeners: slices.Clone(m.Listeners), ListenerPolicies: map[int32][]string{}, BackendPolicies: map[int32][]string{},
		HealthCheck: m.HealthCheck, Subnets: slices.Clone(m.Subnets), SecurityGroups: wantGroups(m, "sg-1"),
		Instances: slices.Clone(m.Instances), Tags: maps.Clone(m.Tags),
	}
	p := &Plan{GroupID: "sg-1"}
	maps.Copy(o.Tags, bookkeeping(m, p))
	for _, port := range m.ProxyProtocolPorts {
		o.BackendPolicies[port] = []string{proxyProtocolPolicy}
		o.Policies = append(o.Policies, proxyProtocolPolicy)
	}
	if m.SSLNegotiationPolicy != "" {
		o.Policies = append(o.Policies, sslPolicyPrefix+m.SSLNegotiationPolicy)
		for _, l := range m.Listeners {
			if l.Protocol == "SSL" || l.Protocol == "HTTPS" {
				o.ListenerPolicies[l.Port] = []string{sslPolicyPrefix + m.SSLNegotiationPolicy}
			}
		}
	}
	return o
}

// deep adds the deep observation matching m.
func deep(m *Model, o *Observed) *Observed {
	o.Deep, o.Attributes = true, m.Attributes
	if sg := m.ManagedSecurityGroup; sg != nil {
		o.ManagedSG = &ObservedGroup{ID: "sg-1", Tags: maps.Clone(sg.Tags), Rules: slices.Clone(sg.Rules)}
	}
	return o
}

func TestDiff(t *testing.T) {
	t.Parallel()
	base := func(t *testing.T, a map[string]string) *Model {
		m, err := build(t, testService(a), Settings{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name    string
		model   map[string]string
		observe func(m *Model) *Observed
		check   func(t *testing.T, p *Plan)
		wantErr bool
	}{
		{"unchanged, shallow", nil, applied, func(t *testing.T, p *Plan) {
			if p.Writes() {
				t.Errorf("plan writes: %+v", p)
			}
		}, false},
		{"unchanged, deep", map[string]string{ann + "proxy-protocol": "*", ann + "ssl-cert": "arn:aws:acm:us-east-1:123456789012:certificate/abc", ann + "ssl-negotiation-policy": "ELBSecurityPolicy-2016-08"},
			func(m *Model) *Observed { return deep(m, applied(m)) }, func(t *testing.T, p *Plan) {
				if p.Writes() {
					t.Errorf("plan writes: %+v", p)
				}
			}, false},
		{"missing", nil, func(*Model) *Observed { return &Observed{Deep: true} }, func(t *testing.T, p *Plan) {
			if !p.Create || !p.CreateGroup || len(p.Authorize) != 3 || p.HealthCheck == nil || len(p.Register) != 3 || p.SetTags[tagSpecHash] == "" {
				t.Errorf("create plan incomplete: %+v", p)
			}
			if p.Attributes != nil {
				t.Errorf("default attributes written on create")
			}
		}, false},
		{"foreign load balancer", nil, func(m *Model) *Observed {
			o := applied(m)
			delete(o.Tags, clusterTag("demo"))
			return o
		}, nil, true},
		{"foreign security group", nil, func(m *Model) *Observed {
			o := deep(m, applied(m))
			o.ManagedSG.Tags = map[string]string{}
			return o
		}, nil, true},
		{"scheme change", nil, func(m *Model) *Observed { o := applied(m); o.Internal = true; return o }, nil, true},
		{"drift repaired from the description", nil, func(m *Model) *Observed {
			o := applied(m)
			o.HealthCheck.Interval = 99
			o.Instances = append(o.Instances, "i-stale")
			o.Subnets = []string{"subnet-0a1", "subnet-0zz"}
			o.Listeners[0].InstancePort = 1
			o.Listeners = append(o.Listeners, Listener{Protocol: "TCP", Port: 9999, InstanceProtocol: "TCP", InstancePort: 9})
			return o
		}, func(t *testing.T, p *Plan) {
			if p.HealthCheck == nil || !slices.Equal(p.Deregister, []string{"i-stale"}) || !slices.Equal(p.AttachSubnets, []string{"subnet-0b1"}) ||
				!slices.Equal(p.DetachSubnets, []string{"subnet-0zz"}) || !slices.Equal(p.ReplaceListener, []int32{80}) || !slices.Equal(p.RemoveListeners, []int32{9999}) {
				t.Errorf("plan = %+v", p)
			}
			if p.Attributes != nil || len(p.Authorize) > 0 || p.SetTags != nil {
				t.Errorf("shallow diff touched deep parts: %+v", p)
			}
		}, false},
		{"rules and attributes differ", nil, func(m *Model) *Observed {
			o := deep(m, applied(m))
			o.Attributes.IdleTimeout = 10
			o.ManagedSG.Rules = append(o.ManagedSG.Rules[1:], Rule{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0"})
			return o
		}, func(t *testing.T, p *Plan) {
			if p.Attributes == nil || p.Attributes.IdleTimeout != 60 || len(p.Authorize) != 1 || len(p.Revoke) != 1 || p.Revoke[0].FromPort != 22 {
				t.Errorf("plan = %+v", p)
			}
		}, false},
		{"proxy protocol turned off", nil, func(m *Model) *Observed {
			o := applied(m)
			o.BackendPolicies[30080] = []string{proxyProtocolPolicy, "other"}
			return o
		}, func(t *testing.T, p *Plan) {
			if got := p.BackendPolicies[30080]; !slices.Equal(got, []string{"other"}) || len(p.CreatePolicies) > 0 {
				t.Errorf("backend policies = %v, create %v", p.BackendPolicies, p.CreatePolicies)
			}
		}, false},
		{"user tag dropped", map[string]string{ann + "additional-resource-tags": "team=a"}, func(m *Model) *Observed {
			o := applied(m)
			o.Tags["old"] = "x"
			o.Tags["by-someone-else"] = "y"
			o.Tags[tagUserKeys] = "old,team"
			return o
		}, func(t *testing.T, p *Plan) {
			if !slices.Equal(p.RemoveTags, []string{"old"}) || p.SetTags[tagUserKeys] != "team" {
				t.Errorf("remove %v set %v", p.RemoveTags, p.SetTags)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := base(t, tt.model)
			p, err := Diff(m, tt.observe(m))
			if tt.wantErr {
				var ue *providers.UserError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v, want a UserError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestNeedsDeep(t *testing.T) {
	t.Parallel()
	m, err := build(t, testService(nil), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	o := applied(m)
	if needsDeep(m, o) {
		t.Error("applied model needs a deep read")
	}
	m2, _ := build(t, testService(map[string]string{ann + "connection-idle-timeout": "99"}), Settings{})
	if !needsDeep(m2, o) {
		t.Error("changed attributes do not force a deep read")
	}
	delete(o.Tags, tagSecurityGroup)
	if !needsDeep(m, o) {
		t.Error("missing group tag does not force a deep read")
	}
}
