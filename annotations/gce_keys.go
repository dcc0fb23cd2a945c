package annotations

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// GCE formats.
var (
	// gceNameRE is the GCE resource name rule (RFC 1035 label): a lower-case letter, then
	// lower-case letters, digits and '-', not ending with '-', at most 63 characters.
	gceNameRE = `^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`

	// GCEFormatName is a GCE resource name such as a subnetwork or address name.
	GCEFormatName = regexpFormat("a GCE resource name (1-63 characters: a lower-case letter, then a-z, 0-9 or '-', not ending with '-')", gceNameRE)

	// gceFormatNames is GCEFormatName worded for list items.
	gceFormatNames = &Format{
		Name:  "GCE resource names (each 1-63 characters: a lower-case letter, then a-z, 0-9 or '-', not ending with '-')",
		Check: func(s string) error { return GCEFormatName.Check(s) },
	}

	// GCEFormatDrainingTimeout is a Go duration of whole seconds between 0s and 3600s.
	GCEFormatDrainingTimeout = &Format{Name: "a duration in whole seconds from 0s to 3600s, e.g. 300s or 5m", Check: func(s string) error {
		_, err := gceParseDrainingTimeout(s)
		return err
	}}
)

// gceParseDrainingTimeout parses a connection draining timeout. GCE backend services accept
// 0-3600 seconds (connectionDraining.drainingTimeoutSec); ingress-gce accepts a Go duration.
func gceParseDrainingTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		if strings.Trim(s, "0123456789") == "" {
			return 0, errReason(fmt.Sprintf("%q has no unit (did you mean %ss?)", s, s))
		}
		return 0, errReason(fmt.Sprintf("%q is not a duration such as 300s or 5m", s))
	}
	if d%time.Second != 0 {
		return 0, errReason(fmt.Sprintf("%q is not a whole number of seconds", s))
	}
	if d < 0 || d > time.Hour {
		return 0, errReason(fmt.Sprintf("%q is outside 0s-3600s", s))
	}
	return d, nil
}

// gceMaxAddressNames is the most address names networking.gke.io/load-balancer-ip-addresses
// may hold: one IPv4 and one IPv6 address.
const gceMaxAddressNames = 2

// Load balancer type and frontend keys.
var (
	// GCELoadBalancerType selects the internal or external passthrough Network Load Balancer.
	GCELoadBalancerType = &Descriptor{
		Key:      "networking.gke.io/load-balancer-type",
		Cloud:    GCE,
		Type:     Enum,
		Defaults: []Default{{Always, "External"}},
		Allowed:  []string{"Internal", "External"},
		Aliases:  []string{"cloud.google.com/load-balancer-type"},
		// cloud-provider-gcp: every value but Internal (or internal) is external.
		OtherValues: "External",
		Doc:         "Internal creates an internal passthrough Network Load Balancer (private address in the VPC); External an external one. spec.loadBalancerClass networking.gke.io/l4-regional-{internal,external}-legacy overrides it. A change deletes the load balancer of the old scheme and creates the new one (new address).",
		AppliesTo:   "all",
		Change:      Replace,
	}

	// GCEAllowGlobalAccess lets clients in any region reach an internal load balancer.
	GCEAllowGlobalAccess = &Descriptor{
		Key:       "networking.gke.io/internal-load-balancer-allow-global-access",
		Cloud:     GCE,
		Type:      Bool,
		Defaults:  []Default{{Always, "false"}},
		Doc:       "Sets allowGlobalAccess on the internal forwarding rule so clients in every region of the VPC can connect, not only the load balancer's region.",
		AppliesTo: "internal",
		Change:    InPlace,
	}

	// GCEInternalSubnet is the subnet an internal load balancer takes its address from.
	GCEInternalSubnet = &Descriptor{
		Key:       "networking.gke.io/internal-load-balancer-subnet",
		Cloud:     GCE,
		Type:      String,
		Format:    GCEFormatName,
		Doc:       "Name of the subnetwork (same region, network project) the internal forwarding rule and its address use; default the cluster's subnetwork. networking.gke.io/load-balancer-subnet wins when both are set. A change re-creates the forwarding rule with a new address.",
		AppliesTo: "internal",
		Change:    Replace,
	}

	// GCESubnet is the newer subnet key; it wins over GCEInternalSubnet.
	GCESubnet = &Descriptor{
		Key:       "networking.gke.io/load-balancer-subnet",
		Cloud:     GCE,
		Type:      String,
		Format:    GCEFormatName,
		Doc:       "Name of the subnetwork the load balancer address comes from; replaces networking.gke.io/internal-load-balancer-subnet (read when this key is absent). A change re-creates the forwarding rule with a new address.",
		AppliesTo: "internal",
		Change:    Replace,
	}

	// GCENetworkTier is the network tier of an external forwarding rule and its address.
	GCENetworkTier = &Descriptor{
		Key:       "cloud.google.com/network-tier",
		Cloud:     GCE,
		Type:      Enum,
		Defaults:  []Default{{Always, "Premium"}},
		Allowed:   []string{"Premium", "Standard"},
		Doc:       "Network tier (PREMIUM or STANDARD) of the external forwarding rule and its address; a spec.loadBalancerIP or named address must be of the same tier. GCE cannot move an address between tiers, so a change after creation is refused: recreate the Service.",
		AppliesTo: "external",
		Change:    Rejected,
	}

	// GCEIPAddressNames names reserved regional addresses for the forwarding rules.
	GCEIPAddressNames = &Descriptor{
		Key:    "networking.gke.io/load-balancer-ip-addresses",
		Cloud:  GCE,
		Type:   List,
		Format: gceFormatNames,
		Validate: func(v any) error {
			names := v.([]string)
			if len(names) > gceMaxAddressNames {
				return errReason(fmt.Sprintf("%d names given, at most %d (one IPv4 and one IPv6 address)", len(names), gceMaxAddressNames))
			}
			if len(names) == 2 && names[0] == names[1] {
				return errReason(fmt.Sprintf("%q is listed twice", names[0]))
			}
			return nil
		},
		Doc:       "Names (not IPs) of up to two reserved regional addresses, at most one IPv4 and one IPv6, used for the forwarding rules; takes precedence over spec.loadBalancerIP. A change moves the load balancer to the new address.",
		AppliesTo: "internal, external",
		Change:    Replace,
	}
)

// Backend keys.
var (
	// GCEBackendShare shares one regional backend service between internal Services.
	GCEBackendShare = &Descriptor{
		Key:       "alpha.cloud.google.com/load-balancer-backend-share",
		Cloud:     GCE,
		Type:      Bool,
		Defaults:  []Default{{Always, "false"}},
		Aliases:   []string{"cloud.google.com/load-balancer-backend-share"},
		Doc:       "Uses a backend service shared by all internal Services with the same protocol and session affinity instead of one per Service; only with externalTrafficPolicy Cluster. A change re-creates the forwarding rule (the address is kept).",
		AppliesTo: "internal",
		Change:    Replace,
	}

	// GCEWeightedLoadBalancing weights nodes by their number of serving Pods.
	GCEWeightedLoadBalancing = &Descriptor{
		Key:       "networking.gke.io/weighted-load-balancing",
		Cloud:     GCE,
		Type:      Enum,
		Allowed:   []string{"pods-per-node"},
		Doc:       "pods-per-node sends more new connections to nodes with more serving Pods (backend service localityLbPolicy WEIGHTED_MAGLEV); only with externalTrafficPolicy Local.",
		AppliesTo: "internal, external",
		Change:    InPlace,
	}

	// GCEStrongSessionAffinity turns on strong session affinity on the backend service.
	GCEStrongSessionAffinity = &Descriptor{
		Key:       "networking.gke.io/l4-strong-session-affinity",
		Cloud:     GCE,
		Type:      Enum,
		Allowed:   []string{"enabled"},
		Doc:       "enabled keeps a client on its backend even when backends change (connectionTrackingPolicy.enableStrongAffinity); needs spec.sessionAffinity ClientIP with a timeout of 60-57600 s and a project allow-listed by Google.",
		AppliesTo: "external",
		Change:    InPlace,
	}

	// GCEConnectionDrainingTimeout is the backend service connection draining timeout.
	GCEConnectionDrainingTimeout = &Descriptor{
		Key:       "networking.gke.io/connection-draining-timeout",
		Cloud:     GCE,
		Type:      String,
		Format:    GCEFormatDrainingTimeout,
		Doc:       "How long connections to a removed node may finish (backend service connectionDraining.drainingTimeoutSec); 0s disables draining.",
		AppliesTo: "internal, external",
		Change:    InPlace,
	}

	// GCEL4RBS builds an external Service on a regional backend service.
	GCEL4RBS = &Descriptor{
		Key:       "cloud.google.com/l4-rbs",
		Cloud:     GCE,
		Type:      Enum,
		Allowed:   []string{"enabled"},
		Doc:       "enabled builds the external passthrough load balancer on a regional backend service (backend-service-based NetLB: connection draining, weighted load balancing, strong affinity) instead of a target pool. Adding or removing it moves the forwarding rule to the other backend kind and keeps the address.",
		AppliesTo: "external",
		Change:    Replace,
	}

	// GCEL4LoggingConfigMap names a ConfigMap with load balancer logging settings.
	GCEL4LoggingConfigMap = &Descriptor{
		Key:         "networking.gke.io/l4-logging-config-map",
		Cloud:       GCE,
		Type:        String,
		Doc:         "Name of a ConfigMap holding backend service logging settings (GKE ingress-gce).",
		AppliesTo:   "internal, external",
		Change:      InPlace,
		Unsupported: "cloudlb reads configuration only from the Service itself, not from ConfigMaps; load balancer logging is not configured.",
	}
)

// Keys the provider writes back to the Service; reading them has no effect.
var (
	// GCEBackendServiceName records the backend service of an internal load balancer.
	GCEBackendServiceName = &Descriptor{
		Key:       "networking.gke.io/backend-service",
		Cloud:     GCE,
		Type:      String,
		Doc:       "Written by the upstream GCE provider: name of the internal load balancer's backend service. Informational: cloudlb neither reads nor writes it (its name is the load balancer's, a<uid>, or the shared backend's).",
		AppliesTo: "internal",
		Change:    NoChange,
	}

	// GCETargetPoolName records the target pool of an external load balancer.
	GCETargetPoolName = &Descriptor{
		Key:       "networking.gke.io/target-pool",
		Cloud:     GCE,
		Type:      String,
		Doc:       "Written by the upstream GCE provider: name of the external load balancer's target pool. Informational: cloudlb neither reads nor writes it (the pool is named a<uid>).",
		AppliesTo: "external",
		Change:    NoChange,
	}
)

// gceStatusKeys are the resource-name keys GKE's ingress-gce L4 controllers write on a
// Service. They are declared so that a Service copied from GKE does not raise "unknown
// annotation"; cloudlb never reads them.
var gceStatusKeys = func() []*Descriptor {
	resources := [][2]string{
		{"tcp-forwarding-rule", "TCP forwarding rule"}, {"tcp-forwarding-rule-ipv6", "IPv6 TCP forwarding rule"},
		{"udp-forwarding-rule", "UDP forwarding rule"}, {"udp-forwarding-rule-ipv6", "IPv6 UDP forwarding rule"},
		{"l3-forwarding-rule", "L3_DEFAULT forwarding rule"}, {"l3-forwarding-rule-ipv6", "IPv6 L3_DEFAULT forwarding rule"},
		{"backend-service", "backend service"},
		{"firewall-rule", "traffic firewall rule"}, {"firewall-rule-ipv6", "IPv6 traffic firewall rule"},
		{"firewall-rule-deny", "deny firewall rule"}, {"firewall-rule-deny-ipv6", "IPv6 deny firewall rule"},
		{"healthcheck", "health check"},
		{"firewall-rule-for-hc", "health-check firewall rule"}, {"firewall-rule-for-hc-ipv6", "IPv6 health-check firewall rule"},
	}
	out := make([]*Descriptor, 0, len(resources))
	for _, r := range resources {
		out = append(out, &Descriptor{
			Key:       "service.kubernetes.io/" + r[0],
			Cloud:     GCE,
			Type:      String,
			Doc:       "Written by GKE's L4 controller (name of its " + r[1] + "); informational, ignored by cloudlb.",
			AppliesTo: "GKE",
			Change:    NoChange,
		})
	}
	return out
}()

// gceKeyList is every GCE descriptor, built once.
var gceKeyList = slices.Concat([]*Descriptor{
	GCELoadBalancerType, GCEAllowGlobalAccess, GCEInternalSubnet, GCESubnet, GCENetworkTier,
	GCEIPAddressNames, GCEBackendShare, GCEWeightedLoadBalancing, GCEStrongSessionAffinity,
	GCEConnectionDrainingTimeout, GCEL4RBS, GCEL4LoggingConfigMap, GCEBackendServiceName,
	GCETargetPoolName,
}, gceStatusKeys)

func gceKeys() []*Descriptor { return gceKeyList }
