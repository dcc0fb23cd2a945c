package gce

import (
	"net/netip"
	"slices"

	"github.com/cloudlb/cloudlb/providers"
)

// Plan is what Apply does, in this order: the address, firewalls, health check, instance
// groups, forwarding rules that must be re-created (deleted here), the target pool or
// backend service, new and changed forwarding rules, then deletes of what the Service no
// longer uses, and the spec label last.
type Plan struct {
	// CreateAddress reserves Model.Address; DeleteAddressFirst releases ours before (its IP
	// or tier changes). PromoteAddress says the reservation takes the IP the forwarding rule
	// already has (upstream released its reservation, adopt.go): the rules stay.
	CreateAddress      bool
	DeleteAddressFirst bool
	PromoteAddress     bool
	// LabelAddress writes the owner label on the Service's address (one cloudlb took over).
	LabelAddress bool
	// IP is the address the rules use; "" until a created address is read back.
	IP string

	// Firewalls are inserted (Create) or patched.
	Firewalls []FirewallChange
	// HealthCheck is inserted (Create) or updated; nil when unchanged.
	HealthCheck *HealthCheckChange
	Groups      []GroupChange

	// RecreateRules are deleted before the backend changes and created again below.
	RecreateRules []string

	CreateTargetPool   bool
	RecreateTargetPool bool
	AddInstances       []string
	RemoveInstances    []string
	// SwapPoolHealthCheck replaces the pool's health check (old name) by the model's.
	SwapPoolHealthCheck string

	// BackendService is inserted (Create) or patched.
	BackendService *BackendServiceChange

	CreateRules []ForwardingRule
	// PatchRules change allowGlobalAccess; SetTargets point a rule at the pool.
	PatchRules []RulePatch
	SetTargets []ForwardingRule

	// Deletes, last.
	DeleteRules           []string
	DeleteTargetPool      bool
	DeleteBackendServices []string
	// DeleteHealthChecks are tried; a shared one still in use stays (with its firewall).
	DeleteHealthChecks []HealthCheck
	DeleteFirewalls    []string
	// DeleteGroups are instance groups (URLs) of zones without nodes any more; each is
	// deleted only when no backend service uses it.
	DeleteGroups  []string
	DeleteAddress bool

	// SetSpec writes the spec hash label on the first rule.
	SetSpec bool
}

// FirewallChange is one firewall insert or patch.
type FirewallChange struct {
	Firewall Firewall
	Create   bool
	// DestinationFromIP sets the destination to the address Apply reserves.
	DestinationFromIP bool
}

// RulePatch is a forwarding rule patch with the fingerprint it applies to.
type RulePatch struct {
	Rule        ForwardingRule
	Fingerprint string
}

// HealthCheckChange is one health check insert or update.
type HealthCheckChange struct {
	HealthCheck HealthCheck
	Create      bool
}

// GroupChange is one zone's instance group creation and membership change.
type GroupChange struct {
	Group  InstanceGroup
	Create bool
	Add    []string
	Remove []string
}

// BackendServiceChange is a backend service insert or patch.
type BackendServiceChange struct {
	BackendService BackendSvc
	Create         bool
	Fingerprint    string
}

// Writes reports whether the plan makes any write.
func (p *Plan) Writes() bool {
	return p.CreateAddress || p.DeleteAddressFirst || p.LabelAddress || len(p.Firewalls) > 0 || p.HealthCheck != nil || len(p.Groups) > 0 ||
		len(p.RecreateRules) > 0 || p.CreateTargetPool || p.RecreateTargetPool || len(p.AddInstances) > 0 ||
		len(p.RemoveInstances) > 0 || p.SwapPoolHealthCheck != "" || p.BackendService != nil || len(p.CreateRules) > 0 ||
		len(p.PatchRules) > 0 || len(p.SetTargets) > 0 || len(p.DeleteRules) > 0 || p.DeleteTargetPool ||
		len(p.DeleteBackendServices) > 0 || len(p.DeleteHealthChecks) > 0 || len(p.DeleteFirewalls) > 0 || len(p.DeleteGroups) > 0 || p.DeleteAddress || p.SetSpec
}

// notOurs is the UserError for a resource with our name that this Service does not own.
func notOurs(m *Model, kind, name string) error {
	return providers.NewUserError(m.Service,
		"%s %s exists but its description does not name this Service and cluster (%s); it is not ours and is left untouched: delete or rename it, or re-create the Service to get a new name",
		kind, name, describe(m.Service, m.ClusterID))
}

// Diff compares the desired model with what the cloud holds. It is pure.
func Diff(m *Model, o *Observed) (*Plan, error) {
	p := &Plan{}
	if err := checkOwnership(m, o); err != nil {
		return nil, err
	}
	if err := diffAddress(p, m, o); err != nil {
		return nil, err
	}
	diffFirewalls(p, m, o)
	diffHealthCheck(p, m, o)
	diffGroups(p, m, o)
	diffBackends(p, m, o)
	diffRules(p, m, o)
	diffStale(p, m, o)
	// The label is written when it is stale or its rule is new; repairs that leave the spec
	// as it was (node churn, drift) do not rewrite it.
	first, ok := o.Rules[m.Name]
	p.SetSpec = !ok || first.Labels[specLabel] != m.SpecHash() || first.Labels[ownerLabel] != m.ClusterID ||
		m.ReplaceKey != "" && first.Labels[replaceKeyLabel] != m.ReplaceKey || slices.Contains(p.RecreateRules, m.Name)
	p.LabelAddress = needsAddressLabel(m, o) && !p.DeleteAddressFirst && !p.DeleteAddress
	return p, nil
}

func checkOwnership(m *Model, o *Observed) error {
	for _, r := range o.Rules {
		if !r.Owned {
			return notOurs(m, "forwarding rule", r.Rule.Name)
		}
	}
	if a := o.Address; a != nil && !a.Owned && !(m.Address.UserOwned && a.Name == m.Address.Name) && a.IP != m.Address.IP {
		return notOurs(m, "address", a.Name)
	}
	if tp := o.TargetPool; tp != nil && !tp.Owned {
		return notOurs(m, "target pool", tp.Name)
	}
	if b, ok := o.BackendServices[m.Name]; ok && !b.Owned {
		return notOurs(m, "backend service", b.Name)
	}
	if h, ok := o.HealthChecks[hcKey(m.HealthCheck.Kind, m.HealthCheck.Name)]; ok && !h.Owned && !m.HealthCheck.Shared {
		return notOurs(m, "health check", h.Name)
	}
	for _, f := range m.Firewalls {
		if of, ok := o.Firewalls[f.Name]; ok && !of.Owned && !f.Shared {
			return notOurs(m, "firewall", f.Name)
		}
	}
	return nil
}

func diffAddress(p *Plan, m *Model, o *Observed) error {
	want := m.Address
	switch {
	case want.UserOwned:
		if o.UserAddress == nil {
			return providers.NewUserError(m.Service, "reserved address %s not found in region %s: reserve it first", want.Name, m.Region)
		}
		p.IP = o.UserAddress.IP
		p.DeleteAddress = o.Address != nil && o.Address.Owned
	case want.IP != "" && o.UserAddress != nil:
		// spec.loadBalancerIP names the user's reservation: use it, never release it.
		if o.UserAddress.Type != want.Type || want.Type == SchemeExternal && o.UserAddress.NetworkTier != want.NetworkTier {
			return providers.NewUserError(m.Service, "spec.loadBalancerIP %s is reserved as address %s of type %s tier %s; the load balancer needs type %s tier %s",
				want.IP, o.UserAddress.Name, o.UserAddress.Type, o.UserAddress.NetworkTier, want.Type, want.NetworkTier)
		}
		p.IP = o.UserAddress.IP
		p.DeleteAddress = o.Address != nil && o.Address.Owned
	case o.Address == nil:
		p.CreateAddress = true
		p.IP = want.IP
		if r, ok := o.Rules[m.Name]; ok && want.IP == "" && r.IP != "" && r.Rule.Scheme == m.Scheme &&
			r.Rule.Subnetwork == want.Subnetwork && (m.Scheme != SchemeExternal || r.Rule.NetworkTier == want.NetworkTier) {
			// The rule holds an IP no reservation holds (upstream released it): reserve that IP.
			p.PromoteAddress, p.IP = true, r.IP
		}
	default:
		a := o.Address
		if a.IP == want.IP && !a.Owned {
			// Reserved under our name by someone else with the IP the user asked for.
			p.IP = a.IP
			return nil
		}
		if want.IP != "" && a.IP != want.IP || a.Type != want.Type || a.NetworkTier != want.NetworkTier || a.Subnetwork != want.Subnetwork {
			p.DeleteAddressFirst, p.CreateAddress, p.IP = true, true, want.IP
			return nil
		}
		if want.Purpose != "" && a.Purpose != want.Purpose {
			// An internal Service gaining a second protocol: its address must become a
			// shared VIP, which GCE cannot patch; it is reserved again with the same IP.
			p.DeleteAddressFirst, p.CreateAddress, p.IP = true, true, a.IP
			return nil
		}
		p.IP = a.IP
	}
	return nil
}

// keepNetworkTier returns m with the tier of the Service's own external address when the
// desired tier differs, and a UserError saying so. GCE cannot move an address between tiers
// and a new address would change the IP, so cloudlb refuses the change (the registry's
// "rejected"): the load balancer keeps its tier, and everything else (node churn included)
// is still applied. It is pure; Diff alone would re-reserve the address.
func keepNetworkTier(m *Model, o *Observed) (*Model, error) {
	a, want := o.Address, m.Address
	if a == nil || !a.Owned || want.UserOwned || want.IP != "" && o.UserAddress != nil ||
		a.Type != SchemeExternal || want.Type != SchemeExternal || a.NetworkTier == want.NetworkTier {
		return m, nil
	}
	err := providers.NewUserError(m.Service,
		"annotation cloud.google.com/network-tier: the load balancer's address %s (%s) is %s and GCE cannot move an address to %s; the change is refused and the load balancer keeps %s: recreate the Service to change the tier",
		a.Name, a.IP, a.NetworkTier, want.NetworkTier, a.NetworkTier)
	kept := *m
	kept.Address.NetworkTier = a.NetworkTier
	kept.ForwardingRules = slices.Clone(m.ForwardingRules)
	for i := range kept.ForwardingRules {
		kept.ForwardingRules[i].NetworkTier = a.NetworkTier
	}
	return &kept, err
}

func diffFirewalls(p *Plan, m *Model, o *Observed) {
	ip, err := netip.ParseAddr(p.IP)
	for _, f := range m.Firewalls {
		perService := !f.Shared
		if perService && err == nil && ip.Is4() {
			f.DestinationRanges = []string{ip.String() + "/32"}
		}
		// An address reserved below: its IP is filled in by Apply.
		fromIP := perService && p.IP == ""
		of, ok := o.Firewalls[f.Name]
		switch {
		case !ok:
			p.Firewalls = append(p.Firewalls, FirewallChange{Firewall: f, Create: true, DestinationFromIP: fromIP})
		case !of.Owned:
			// A shared firewall of another owner: used as it is.
		case fromIP || !sameFirewall(f, of.Firewall):
			p.Firewalls = append(p.Firewalls, FirewallChange{Firewall: f, DestinationFromIP: fromIP})
		}
	}
}

func sameFirewall(a, b Firewall) bool {
	if a.Network != b.Network || !slices.Equal(a.SourceRanges, b.SourceRanges) || !slices.Equal(a.TargetTags, b.TargetTags) ||
		!slices.Equal(a.DestinationRanges, b.DestinationRanges) || len(a.Allowed) != len(b.Allowed) {
		return false
	}
	for i := range a.Allowed {
		if a.Allowed[i].Protocol != b.Allowed[i].Protocol || !slices.Equal(a.Allowed[i].Ports, b.Allowed[i].Ports) {
			return false
		}
	}
	return true
}

func diffHealthCheck(p *Plan, m *Model, o *Observed) {
	want := m.HealthCheck
	oh, ok := o.HealthChecks[hcKey(want.Kind, want.Name)]
	switch {
	case !ok:
		p.HealthCheck = &HealthCheckChange{HealthCheck: want, Create: true}
	case !oh.Owned:
	default:
		got := oh.HealthCheck
		got.Shared = want.Shared
		if got != want {
			p.HealthCheck = &HealthCheckChange{HealthCheck: want}
		}
	}
}

func diffGroups(p *Plan, m *Model, o *Observed) {
	for _, g := range m.InstanceGroups {
		og := o.Groups[g.Zone]
		c := GroupChange{Group: g, Create: !og.Exists}
		c.Add, c.Remove = setDiff(g.Instances, og.Instances)
		if c.Create || len(c.Add) > 0 || len(c.Remove) > 0 {
			p.Groups = append(p.Groups, c)
		}
	}
}

func diffBackends(p *Plan, m *Model, o *Observed) {
	if tp := m.TargetPool; tp != nil {
		otp := o.TargetPool
		switch {
		case otp == nil:
			p.CreateTargetPool = true
		case otp.SessionAffinity != tp.SessionAffinity:
			// A target pool's session affinity cannot change: re-create it and its rules
			// (the address keeps the IP).
			p.RecreateTargetPool = true
		default:
			p.AddInstances, p.RemoveInstances = setDiff(tp.Instances, otp.Instances)
			if otp.HealthCheck != tp.HealthCheck {
				p.SwapPoolHealthCheck = otp.HealthCheck
				if p.SwapPoolHealthCheck == "" {
					p.SwapPoolHealthCheck = "-" // none to remove
				}
			}
		}
	}
	if b := m.BackendService; b != nil {
		ob, ok := o.BackendServices[b.Name]
		switch {
		case !ok:
			p.BackendService = &BackendServiceChange{BackendService: *b, Create: true}
		case !sameBackendService(*b, ob.BackendSvc):
			p.BackendService = &BackendServiceChange{BackendService: *b, Fingerprint: ob.Fingerprint}
		}
	}
}

func sameBackendService(a, b BackendSvc) bool {
	return a.Protocol == b.Protocol && a.Scheme == b.Scheme && a.SessionAffinity == b.SessionAffinity && a.HealthCheck == b.HealthCheck &&
		a.Network == b.Network && slices.Equal(a.Backends, b.Backends) && a.ConnectionDrainingSec == b.ConnectionDrainingSec &&
		a.LocalityLbPolicy == b.LocalityLbPolicy && a.StrongSessionAffinity == b.StrongSessionAffinity &&
		a.ConnectionIdleTimeoutSec == b.ConnectionIdleTimeoutSec
}

func diffRules(p *Plan, m *Model, o *Observed) {
	// GCE refuses a backend service's new protocol (TCP to UNSPECIFIED when UDP ports are
	// added, and back) while forwarding rules use it: its rules go before the patch.
	protoChange := false
	if b := m.BackendService; b != nil {
		if ob, ok := o.BackendServices[b.Name]; ok && ob.Protocol != b.Protocol {
			protoChange = true
		}
	}
	want := map[string]bool{}
	for _, r := range m.ForwardingRules {
		want[r.Name] = true
	}
	if protoChange {
		for _, name := range sortedKeys(o.Rules) {
			if !want[name] && o.Rules[name].Rule.BackendService == m.BackendService.Name {
				p.RecreateRules = append(p.RecreateRules, name) // deleted early, not created again
			}
		}
	}
	for _, r := range m.ForwardingRules {
		or, ok := o.Rules[r.Name]
		if !ok {
			p.CreateRules = append(p.CreateRules, r)
			continue
		}
		got := or.Rule
		recreate := p.IP != "" && or.IP != p.IP || p.CreateAddress && !p.PromoteAddress || got.Protocol != r.Protocol || got.PortRange != r.PortRange ||
			!slices.Equal(got.Ports, r.Ports) || got.AllPorts != r.AllPorts || got.Scheme != r.Scheme || got.NetworkTier != r.NetworkTier ||
			got.Network != r.Network || got.Subnetwork != r.Subnetwork || got.BackendService != r.BackendService ||
			(got.Target == "") != (r.Target == "") || p.RecreateTargetPool || protoChange && got.BackendService == r.BackendService
		if recreate {
			p.RecreateRules = append(p.RecreateRules, r.Name)
			p.CreateRules = append(p.CreateRules, r)
			continue
		}
		if got.AllowGlobalAccess != r.AllowGlobalAccess {
			p.PatchRules = append(p.PatchRules, RulePatch{Rule: r, Fingerprint: or.Fingerprint})
		}
		if got.Target != r.Target {
			p.SetTargets = append(p.SetTargets, r)
		}
	}
}

// diffStale deletes what the Service used before and no longer does.
func diffStale(p *Plan, m *Model, o *Observed) {
	want := map[string]bool{}
	for _, r := range m.ForwardingRules {
		want[r.Name] = true
	}
	for name := range o.Rules {
		if !want[name] && !slices.Contains(p.RecreateRules, name) {
			p.DeleteRules = append(p.DeleteRules, name)
		}
	}
	slices.Sort(p.DeleteRules)
	if o.TargetPool != nil && m.TargetPool == nil {
		p.DeleteTargetPool = true
	}
	for name, b := range o.BackendServices {
		if m.BackendService == nil || name != m.BackendService.Name {
			if b.Owned {
				p.DeleteBackendServices = append(p.DeleteBackendServices, name)
			}
		}
	}
	slices.Sort(p.DeleteBackendServices)
	if b := m.BackendService; b != nil {
		if ob, ok := o.BackendServices[b.Name]; ok {
			_, p.DeleteGroups = setDiff(b.Backends, ob.Backends)
		}
	}
	wantFW := map[string]bool{}
	for _, f := range m.Firewalls {
		wantFW[f.Name] = true
	}
	for key, h := range o.HealthChecks {
		if key == hcKey(m.HealthCheck.Kind, m.HealthCheck.Name) || !h.Owned {
			continue
		}
		p.DeleteHealthChecks = append(p.DeleteHealthChecks, h.HealthCheck)
	}
	slices.SortFunc(p.DeleteHealthChecks, func(a, b HealthCheck) int { return compareStrings(hcKey(a.Kind, a.Name), hcKey(b.Kind, b.Name)) })
	for name, f := range o.Firewalls {
		if !wantFW[name] && f.Owned && !f.Shared && parseDescIsService(name, m) {
			p.DeleteFirewalls = append(p.DeleteFirewalls, name)
		}
	}
	slices.Sort(p.DeleteFirewalls)
}

// parseDescIsService is true for the per-Service firewall names (never the shared ones,
// which follow their health check).
func parseDescIsService(name string, m *Model) bool {
	return name == hcFirewallName(m.Name, m.ClusterID, false, true) || name == hcFirewallName(m.Name, m.ClusterID, false, false) ||
		name == trafficFirewallName(m.Name)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// setDiff returns what is in want but not in have, and in have but not in want, sorted.
func setDiff(want, have []string) (add, remove []string) {
	w, h := map[string]bool{}, map[string]bool{}
	for _, s := range want {
		w[s] = true
	}
	for _, s := range have {
		h[s] = true
		if !w[s] {
			remove = append(remove, s)
		}
	}
	for _, s := range want {
		if !h[s] {
			add = append(add, s)
		}
	}
	slices.Sort(add)
	slices.Sort(remove)
	return slices.Compact(add), slices.Compact(remove)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
