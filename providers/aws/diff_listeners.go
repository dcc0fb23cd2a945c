package aws

import (
	"maps"
	"slices"
	"strings"
)

// diffListeners plans listener changes by port: a changed listener is deleted and created
// again (CLB listeners cannot be modified), a removed one is deleted last.
func diffListeners(p *Plan, m *Model, o *Observed) {
	have := map[int32]Listener{}
	for _, l := range o.Listeners {
		have[l.Port] = l
	}
	for _, l := range m.Listeners {
		cur, ok := have[l.Port]
		delete(have, l.Port)
		switch {
		case !ok:
			p.AddListeners = append(p.AddListeners, l)
		case !sameListener(cur, l):
			p.ReplaceListener = append(p.ReplaceListener, l.Port)
			p.AddListeners = append(p.AddListeners, l)
		}
	}
	p.RemoveListeners = slices.Sorted(maps.Keys(have))
}

func sameListener(a, b Listener) bool {
	return a.Protocol == b.Protocol && a.InstanceProtocol == b.InstanceProtocol && a.InstancePort == b.InstancePort &&
		strings.EqualFold(a.SSLCertificateID, b.SSLCertificateID)
}

// diffPolicies plans the proxy-protocol and SSL-negotiation policies. Only policies named
// by cloudlb (and upstream) are managed; others on a listener or backend are kept.
func diffPolicies(m *Model, o *Observed) (create []string, backend, listener map[int32][]string) {
	backend, listener = map[int32][]string{}, map[int32][]string{}
	defined := func(n string) bool { return slices.Contains(o.Policies, n) }
	if len(m.ProxyProtocolPorts) > 0 && !defined(proxyProtocolPolicy) {
		create = append(create, proxyProtocolPolicy)
	}
	ports := map[int32]bool{}
	for _, port := range m.ProxyProtocolPorts {
		ports[port] = true
	}
	for port := range o.BackendPolicies {
		ports[port] = true
	}
	for port := range ports {
		cur := o.BackendPolicies[port]
		want := withManaged(cur, isProxyPolicy, slices.Contains(m.ProxyProtocolPorts, port), proxyProtocolPolicy)
		if !slices.Equal(cur, want) {
			backend[port] = want
		}
	}
	sslName := ""
	if m.SSLNegotiationPolicy != "" {
		sslName = sslPolicyPrefix + m.SSLNegotiationPolicy
		if !defined(sslName) {
			create = append(create, sslName)
		}
	}
	for _, l := range m.Listeners {
		cur := o.ListenerPolicies[l.Port]
		tls := l.Protocol == "SSL" || l.Protocol == "HTTPS"
		want := withManaged(cur, isSSLPolicy, tls && sslName != "", sslName)
		if !slices.Equal(cur, want) {
			listener[l.Port] = want
		}
	}
	return create, backend, listener
}

func isProxyPolicy(n string) bool { return n == proxyProtocolPolicy }

func isSSLPolicy(n string) bool { return strings.HasPrefix(n, sslPolicyPrefix) }

// withManaged is cur without the managed policies, plus name when wanted, sorted.
func withManaged(cur []string, managed func(string) bool, wanted bool, name string) []string {
	out := []string{}
	for _, n := range cur {
		if !managed(n) {
			out = append(out, n)
		}
	}
	if wanted {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
