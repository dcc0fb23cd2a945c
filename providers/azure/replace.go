package azure

import (
	"context"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	v1 "k8s.io/api/core/v1"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers"
)

// The replacement guard on Azure (providers/guard.go). Three changes give a Service a new
// frontend address: azure-load-balancer-internal (the frontend moves between <base> and
// <base>-internal), azure-load-balancer-internal-subnet (a new frontend a<uid>-<subnet>), and
// azure-pip-prefix-id (a new managed public IP from the other prefix). Each is made only when
// providers.ReplaceAllowed(recorded, key): the Service's key, recorded when cloudlb applied it,
// differs from its key now. The key is recorded on the Service's own object, its managed
// public IP (tag cloudlb-replace-key), or, for internal Services and user public IPs, on the
// load balancer as the tag cloudlb-replace-key-<a<uid>> (Azure allows 50 tags per resource:
// a load balancer that has them all gets no key, and the Service's replacements stay refused).
// A refused change is kept out of the model (the frontend stays where it is), everything else
// converges, and EnsureLoadBalancer returns *providers.ReplacementRefused with the status.
//
// Not guarded: the IPv6 frontend's prefix (azure-pip-prefix-id-ipv6) is in the key but its
// current value is not compared.

// maxTags is Azure's limit of tags on one resource.
const maxTags = 50

// replaceKeyLBTag is the load balancer tag holding the key of the Service with prefix.
func replaceKeyLBTag(prefix string) string { return providers.ReplaceKeyTag + "-" + prefix }

// replaceKey is the Service's replacement key over the fields whose change needs a new
// address, as the Service asks for them.
func replaceKey(token string, az *annotations.AzureConfig) string {
	subnet, prefix, prefix6 := "", "", ""
	if az.Internal {
		subnet = az.InternalSubnet
	} else {
		prefix, prefix6 = az.PIPPrefixID, az.PIPPrefixIDIPv6
	}
	return providers.ReplaceKey(token,
		providers.ReplaceField{Name: annotations.AzureInternal.Key, Value: strconv.FormatBool(az.Internal)},
		providers.ReplaceField{Name: annotations.AzureInternalSubnet.Key, Value: subnet},
		providers.ReplaceField{Name: annotations.AzurePIPPrefixID.Key, Value: prefix},
		providers.ReplaceField{Name: annotations.AzurePIPPrefixIDIPv6.Key, Value: prefix6})
}

// current is where the Service's IPv4 frontend is: its load balancer, the frontend, and the
// public IP it uses (nil for internal ones or one not read).
type current struct {
	lb       *armnetwork.LoadBalancer
	internal bool
	frontend *armnetwork.FrontendIPConfiguration
}

// findCurrent is the Service's IPv4 frontend on the cluster's public or internal load
// balancer as observed; ok is false when it has none yet.
func findCurrent(o *Observed, s Settings, prefix string) (current, bool) {
	for _, internal := range []bool{false, true} {
		lb := o.LoadBalancers[key(s.LoadBalancerResourceGroup, loadBalancerName(s.LoadBalancerName, internal))]
		if lb == nil || lb.Properties == nil {
			continue
		}
		for _, f := range lb.Properties.FrontendIPConfigurations {
			n := sval(f.Name)
			if ownedBy(n, prefix) && !strings.HasSuffix(n, ipv6Suffix) && f.Properties != nil {
				return current{lb: lb, internal: internal, frontend: f}, true
			}
		}
	}
	return current{}, false
}

// guardDecision is the guard's answer: the changes refused (none: go on as the Service asks)
// and the configuration that keeps the current frontend.
type guardDecision struct {
	changes []providers.FieldChange
	kept    *annotations.AzureConfig
}

// judge compares where the Service is (cur; pip is its public IP, read when the frontend uses
// a managed one of the Service) with the model m built from az and decides. Pure.
func judge(m *Model, az *annotations.AzureConfig, s Settings, wantKey string, cur current, pip *armnetwork.PublicIPAddress) guardDecision {
	kept := *az
	var changes []providers.FieldChange
	fp := cur.frontend.Properties
	if cur.internal != az.Internal {
		changes = append(changes, providers.FieldChange{Field: annotations.AzureInternal.Key, Have: strconv.FormatBool(cur.internal), Want: strconv.FormatBool(az.Internal)})
		kept.Internal = cur.internal
		if cur.internal {
			kept.InternalSubnet = haveSubnet(cur.frontend, m.Prefix)
		}
	} else if az.Internal && !strings.EqualFold(sval(cur.frontend.Name), m.Frontend.Name) {
		have := haveSubnet(cur.frontend, m.Prefix)
		changes = append(changes, providers.FieldChange{Field: annotations.AzureInternalSubnet.Key, Have: have, Want: az.InternalSubnet})
		kept.InternalSubnet = have
	}
	if !cur.internal && !az.Internal && m.PublicIP != nil && m.PublicIP.Managed && fp.PublicIPAddress != nil {
		name := lastSegment(sval(fp.PublicIPAddress.ID))
		if !strings.EqualFold(name, m.PublicIP.Name) && managedPIPOf(name, s.Cluster, m.Prefix) {
			have := ""
			if pip != nil && pip.Properties != nil && pip.Properties.PublicIPPrefix != nil {
				have = sval(pip.Properties.PublicIPPrefix.ID)
			}
			changes = append(changes, providers.FieldChange{Field: annotations.AzurePIPPrefixID.Key, Have: have, Want: az.PIPPrefixID})
			kept.PIPPrefixID = have
		}
	}
	if len(changes) == 0 || providers.ReplaceAllowed(recordedKey(cur, m.Prefix, pip), wantKey) {
		return guardDecision{}
	}
	return guardDecision{changes: changes, kept: &kept}
}

// haveSubnet is the internal-subnet annotation value that names frontend f: "" for the
// Service's default frontend a<uid>, else its subnet's name.
func haveSubnet(f *armnetwork.FrontendIPConfiguration, prefix string) string {
	if strings.EqualFold(sval(f.Name), prefix) || f.Properties == nil {
		return ""
	}
	return lastSegment(subnetID(f.Properties.Subnet))
}

// managedPIPOf reports whether a public IP name is one upstream or cloudlb derives for the
// Service: <cluster>-a<uid>[-<prefix name>].
func managedPIPOf(name, cluster, prefix string) bool {
	return len(name) >= len(cluster)+1+len(prefix) && strings.EqualFold(name[:len(cluster)+1+len(prefix)], cluster+"-"+prefix)
}

// recordedKey is the key recorded for the Service where it is: its managed public IP's tag,
// else its load balancer's tag; "" when none is (an upstream or older cloudlb object).
func recordedKey(cur current, prefix string, pip *armnetwork.PublicIPAddress) string {
	if pip != nil {
		if v, ok := tagValue(pip.Tags, providers.ReplaceKeyTag, ""); ok {
			return v
		}
	}
	v, _ := tagValue(cur.lb.Tags, replaceKeyLBTag(prefix), "")
	return v
}

// guard reads where the Service is (both load balancers and, when that judges a change, the
// public IP of its frontend) and decides. It is skipped while the Service is where this
// Cloud put it and wants to stay there.
func (r *reconcile) guard(ctx context.Context, s Settings, wantKey string) (guardDecision, error) {
	m := r.m
	if r.known && r.prev.internal == m.Internal && strings.EqualFold(r.prev.frontend, m.Frontend.Name) &&
		(m.PublicIP == nil || !m.PublicIP.Managed || idEqual(strings.Split(r.prev.pipID, ",")[0], m.Frontend.PublicIPID)) {
		return guardDecision{}, nil
	}
	for _, internal := range []bool{false, true} {
		rg, name := s.LoadBalancerResourceGroup, loadBalancerName(s.LoadBalancerName, internal)
		seq := r.c.writes.Begin()
		if err := r.c.observeLB(ctx, r.o, rg, name); err != nil {
			return guardDecision{}, err
		}
		r.o.prefetch("lb:"+key(rg, name), seq)
	}
	cur, ok := findCurrent(r.o, s, m.Prefix)
	if !ok {
		return guardDecision{}, nil
	}
	var pip *armnetwork.PublicIPAddress
	if fp := cur.frontend.Properties; !cur.internal && fp.PublicIPAddress != nil && managedPIPOf(lastSegment(sval(fp.PublicIPAddress.ID)), s.Cluster, m.Prefix) {
		rg, name := resourceGroupAndName(sval(fp.PublicIPAddress.ID))
		seq := r.c.writes.Begin()
		if err := r.c.observePIP(ctx, r.o, rg, name); err != nil {
			return guardDecision{}, err
		}
		r.o.prefetch("pip:"+key(rg, name), seq)
		pip = r.o.PublicIPs[key(rg, name)]
	}
	return judge(m, r.az, s, wantKey, cur, pip), nil
}

// withReplaceKey records key on m's managed public IP, else on its load balancer.
func withReplaceKey(m *Model, key string) {
	m.ReplaceKey = key
	m.KeyOnLB = m.PublicIP == nil || !m.PublicIP.Managed
	if !m.KeyOnLB {
		m.PublicIP.Tags[providers.ReplaceKeyTag] = key
	}
}

// refusal is the error EnsureLoadBalancer returns for a kept frontend.
func refusal(m *Model, d guardDecision, st *v1.LoadBalancerStatus) error {
	return &providers.ReplacementRefused{Service: m.Service, LoadBalancer: m.LoadBalancer.Name + "/" + m.Frontend.Name, Changes: d.changes, Status: st}
}
