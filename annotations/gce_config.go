package annotations

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
)

// GCEConfig is the typed GCE configuration of one Service. Every default is applied.
type GCEConfig struct {
	// HandledElsewhere, when not empty, says why another controller (GKE's ingress-gce) serves
	// this Service; the provider must not create, change or delete anything for it. Only
	// Internal is filled in then.
	HandledElsewhere string
	// Internal selects an internal passthrough Network Load Balancer (loadBalancingScheme
	// INTERNAL, backend service); false an external one (target pool).
	Internal bool
	// RBS (cloud.google.com/l4-rbs: enabled) builds an external load balancer on a regional
	// backend service instead of a target pool; always false when Internal.
	RBS bool
	// Frontend is the forwarding rule and its address.
	Frontend GCEFrontend
	// Backend is the backend service or target pool.
	Backend GCEBackend
}

// GCEFrontend configures the forwarding rule and its address.
type GCEFrontend struct {
	// LoadBalancerIP is spec.loadBalancerIP; the zero Addr when unset or when IPAddressNames
	// takes precedence. Always IPv4 on external load balancers.
	LoadBalancerIP netip.Addr
	// IPAddressNames are reserved regional address names (at most one IPv4 and one IPv6; the
	// provider resolves them). They take precedence over LoadBalancerIP.
	IPAddressNames []string
	// NetworkTier is "PREMIUM" or "STANDARD"; always "PREMIUM" on internal load balancers.
	NetworkTier string
	// Subnet is the subnetwork name of an internal load balancer; "" means the cluster's.
	Subnet string
	// GlobalAccess sets allowGlobalAccess on an internal forwarding rule.
	GlobalAccess bool
}

// GCEBackend configures the backend service (internal) or target pool (external).
type GCEBackend struct {
	// SessionAffinity is "NONE" or "CLIENT_IP", from spec.sessionAffinity.
	SessionAffinity string
	// Shared selects the backend service shared between internal Services; never true with
	// externalTrafficPolicy Local.
	Shared bool
	// WeightedLoadBalancing selects localityLbPolicy WEIGHTED_MAGLEV (pods-per-node); only true
	// with externalTrafficPolicy Local, where it has an effect.
	WeightedLoadBalancing bool
	// StrongSessionAffinity enables connectionTrackingPolicy.enableStrongAffinity with
	// trackingMode PER_SESSION; external load balancers only.
	StrongSessionAffinity bool
	// StrongSessionAffinityIdleTimeout is the connection tracking idle timeout (from
	// spec.sessionAffinityConfig.clientIP.timeoutSeconds) when StrongSessionAffinity is set.
	StrongSessionAffinityIdleTimeout time.Duration
	// ConnectionDrainingTimeout is connectionDraining.drainingTimeoutSec; 0 disables draining.
	ConnectionDrainingTimeout time.Duration
}

// loadBalancerClass values understood on GCE.
const (
	GCEClassInternalLegacy = "networking.gke.io/l4-regional-internal-legacy"
	GCEClassExternalLegacy = "networking.gke.io/l4-regional-external-legacy"
	gceClassGKEPrefix      = "networking.gke.io/l4-"
)

// Strong session affinity idle timeout bounds (connectionTrackingPolicy.idleTimeoutSec with
// trackingMode PER_SESSION), and the Kubernetes default of sessionAffinityConfig.
const (
	gceStrongAffinityMinTimeout     = 60
	gceStrongAffinityMaxTimeout     = 16 * 60 * 60
	gceDefaultClientIPTimeoutSecond = 10800
)

// gceSharedBackendRE matches the shared internal backend service names
// k8s-<clusterID>-internal-<tcp|udp>-nmv1-<hash16>.
var gceSharedBackendRE = regexp.MustCompile(`^k8s-.*-internal-(tcp|udp)-nmv1-[0-9a-f]{16}$`)

// GCELoadBalancerName is the name of a Service's GCE load balancer resources (forwarding
// rule, address, target pool or backend service): "a" and the UID without dashes, truncated to
// 32 characters, as cloud-provider-gcp names them.
func GCELoadBalancerName(svc *v1.Service) string {
	n := "a" + strings.ReplaceAll(string(svc.UID), "-", "")
	return n[:min(len(n), 32)]
}

func (p *parser) gce() *GCEConfig {
	cfg := &GCEConfig{}
	cfg.Internal, cfg.RBS, cfg.HandledElsewhere = p.gceScheme()
	p.ctx.Variant = "external"
	if cfg.Internal {
		p.ctx.Variant = "internal"
	}
	if cfg.HandledElsewhere != "" {
		return cfg
	}
	cfg.Frontend = p.gceFrontend(cfg.Internal)
	cfg.Backend = p.gceBackend(cfg.Internal, cfg.RBS)
	p.gceWrittenKeys(cfg.Internal)
	p.gcePorts()
	return cfg
}

// gceScheme decides internal or external, backend service or target pool for external, and
// whether GKE's own controllers serve the Service.
func (p *parser) gceScheme() (internal, rbs bool, elsewhere string) {
	internal = getOr[string](p, GCELoadBalancerType) == "Internal"
	if class := p.svc.Spec.LoadBalancerClass; class != nil {
		forced := ""
		switch c := *class; {
		case c == GCEClassInternalLegacy:
			forced = "Internal"
		case c == GCEClassExternalLegacy:
			forced = "External"
		case strings.HasPrefix(c, gceClassGKEPrefix):
			return strings.Contains(c, "internal"), false, fmt.Sprintf("spec.loadBalancerClass %q is served by GKE's ingress-gce L4 controller", c)
		}
		if forced != "" {
			if v, ok := get[string](p, GCELoadBalancerType); ok && v != forced {
				p.fieldWarn(GCELoadBalancerType, "", "ignored: spec.loadBalancerClass %s selects an %s load balancer", *class, strings.ToLower(forced))
			}
			internal = forced == "Internal"
		}
	}
	if _, ok := get[string](p, GCEL4RBS); ok {
		if internal {
			p.fieldWarn(GCEL4RBS, "", "ignored on internal load balancers")
			return internal, false, ""
		}
		return internal, true, ""
	}
	return internal, false, ""
}

// gceIgnoredOn warns that a key set on the Service does not apply to the load balancer kind.
func (p *parser) gceIgnoredOn(d *Descriptor, kind, why string) {
	if p.isSet(d) && !p.invalid(d) {
		p.fieldWarn(d, "", "ignored on %s load balancers%s", kind, why)
	}
}

func (p *parser) gceFrontend(internal bool) GCEFrontend {
	f := GCEFrontend{NetworkTier: strings.ToUpper(getOr[string](p, GCENetworkTier))}
	if internal {
		p.gceIgnoredOn(GCENetworkTier, "internal", " (internal forwarding rules are always PREMIUM)")
		f.NetworkTier = "PREMIUM"
	}

	f.GlobalAccess = getOr[bool](p, GCEAllowGlobalAccess)
	newSub, newOK := get[string](p, GCESubnet)
	oldSub, oldOK := get[string](p, GCEInternalSubnet)
	switch {
	case !internal:
		f.GlobalAccess = false
		p.gceIgnoredOn(GCEAllowGlobalAccess, "external", "")
		p.gceIgnoredOn(GCESubnet, "external", " (cloudlb's external load balancers take their address from the region, not a subnet)")
		p.gceIgnoredOn(GCEInternalSubnet, "external", "")
	case newOK:
		f.Subnet = newSub
		if oldOK && oldSub != newSub {
			p.fieldWarn(GCEInternalSubnet, "", "ignored: %s is also set (%q) and wins", GCESubnet.Key, newSub)
		}
	case oldOK:
		f.Subnet = oldSub
	}

	f.IPAddressNames, _ = get[[]string](p, GCEIPAddressNames)
	if s := p.svc.Spec.LoadBalancerIP; s != "" {
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil || a.Zone() != "":
			p.errorf("spec.loadBalancerIP", s, "an IPv4 or IPv6 address", "not an IP address")
		case a.Is4In6():
			p.errorf("spec.loadBalancerIP", s, "an IPv4 or IPv6 address", "IPv4-mapped IPv6 address, write it as %s", a.Unmap())
		case !internal && !a.Is4():
			p.errorf("spec.loadBalancerIP", s, "an IPv4 address", "external (target pool) load balancers are IPv4 only")
		case len(f.IPAddressNames) > 0:
			p.warnf("spec.loadBalancerIP", s, "", "ignored: %s takes precedence", GCEIPAddressNames.Key)
		case !a.Is4():
			p.errorf("spec.loadBalancerIP", s, "an IPv4 address", "cloudlb's GCE load balancers are IPv4 only for now (IPv6 forwarding rules are not implemented yet)")
		default:
			f.LoadBalancerIP = a
		}
	}
	if len(f.IPAddressNames) == 2 && !p.invalid(GCEIPAddressNames) {
		p.fieldWarn(GCEIPAddressNames, "", "the second (IPv6) address %q is ignored: IPv6 forwarding rules are not implemented yet", f.IPAddressNames[1])
	}
	return f
}

func (p *parser) gceBackend(internal, rbs bool) GCEBackend {
	var b GCEBackend
	switch sa := p.svc.Spec.SessionAffinity; sa {
	case "", v1.ServiceAffinityNone:
		b.SessionAffinity = "NONE"
	case v1.ServiceAffinityClientIP:
		b.SessionAffinity = "CLIENT_IP"
	default:
		p.errorf("spec.sessionAffinity", string(sa), "None, ClientIP", "unknown session affinity")
	}

	if share := getOr[bool](p, GCEBackendShare); !internal {
		p.gceIgnoredOn(GCEBackendShare, "external", "")
	} else if share && p.ctx.Local {
		p.fieldWarn(GCEBackendShare, "", "ignored with externalTrafficPolicy Local: each Local Service has its own health check and so its own backend service")
	} else {
		b.Shared = share
	}

	if _, ok := get[string](p, GCEWeightedLoadBalancing); ok {
		if p.ctx.Local {
			b.WeightedLoadBalancing = true
		} else {
			p.fieldWarn(GCEWeightedLoadBalancing, "", "no effect with externalTrafficPolicy Cluster: weights come from the per-node health check of externalTrafficPolicy Local")
		}
	}

	if _, ok := get[string](p, GCEStrongSessionAffinity); ok {
		if internal {
			p.gceIgnoredOn(GCEStrongSessionAffinity, "internal", "")
		} else {
			b.StrongSessionAffinity, b.StrongSessionAffinityIdleTimeout = p.gceStrongAffinity()
		}
	}

	if s, ok := get[string](p, GCEConnectionDrainingTimeout); ok {
		b.ConnectionDrainingTimeout, _ = gceParseDrainingTimeout(s)
	}
	if !internal && !rbs {
		// A target pool has no connection draining, weights or strong affinity: those are
		// backend service settings.
		const why = " (a target pool has none; set cloud.google.com/l4-rbs: enabled for a backend service)"
		p.gceIgnoredOn(GCEConnectionDrainingTimeout, "target-pool", why)
		if b.WeightedLoadBalancing {
			p.gceIgnoredOn(GCEWeightedLoadBalancing, "target-pool", why)
		}
		p.gceIgnoredOn(GCEStrongSessionAffinity, "target-pool", why)
	}
	return b
}

// gceStrongAffinity checks the Service fields strong session affinity depends on.
func (p *parser) gceStrongAffinity() (bool, time.Duration) {
	spec := p.svc.Spec
	if spec.SessionAffinity != v1.ServiceAffinityClientIP {
		p.fieldErr(GCEStrongSessionAffinity, "spec.sessionAffinity: ClientIP", "needs spec.sessionAffinity ClientIP, got %q", string(spec.SessionAffinity))
		return false, 0
	}
	timeout := int32(gceDefaultClientIPTimeoutSecond) // what the apiserver fills in
	if c := spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
		timeout = *c.ClientIP.TimeoutSeconds
	}
	if timeout < gceStrongAffinityMinTimeout || timeout > gceStrongAffinityMaxTimeout {
		p.errorf("spec.sessionAffinityConfig.clientIP.timeoutSeconds", fmt.Sprint(timeout),
			fmt.Sprintf("%d-%d", gceStrongAffinityMinTimeout, gceStrongAffinityMaxTimeout),
			"%s needs a connection tracking idle timeout of %d-%d seconds", GCEStrongSessionAffinity.Key,
			gceStrongAffinityMinTimeout, gceStrongAffinityMaxTimeout)
		return false, 0
	}
	return true, time.Duration(timeout) * time.Second
}

// gceWrittenKeys warns about the keys the upstream provider writes when their value is not
// the name cloudlb's resource has: set by hand, or stale; cloudlb ignores them either way.
func (p *parser) gceWrittenKeys(internal bool) {
	name := GCELoadBalancerName(p.svc)
	for _, k := range []struct {
		d       *Descriptor
		applies bool
	}{{GCEBackendServiceName, internal}, {GCETargetPoolName, !internal}} {
		v, ok := get[string](p, k.d)
		if !ok || k.applies && (v == name || k.d == GCEBackendServiceName && gceSharedBackendRE.MatchString(v)) {
			continue
		}
		p.fieldWarn(k.d, "", "informational only, has no effect: the upstream GCE provider writes this key; cloudlb neither reads nor writes it")
	}
}

// gcePorts reports ports GCE passthrough load balancers cannot serve. TCP and UDP may be
// mixed: the provider makes one forwarding rule per protocol on the same address.
func (p *parser) gcePorts() {
	for i, sp := range p.svc.Spec.Ports {
		if sp.Protocol == v1.ProtocolSCTP {
			p.errorf(fmt.Sprintf("spec.ports[%d].protocol", i), string(sp.Protocol), "TCP, UDP",
				"GCE passthrough load balancers created by cloudlb forward only TCP and UDP")
		}
	}
}
