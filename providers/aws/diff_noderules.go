package aws

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
)

// tagNodeGroups lists, on an NLB, the node security groups holding its rules, so rules are
// removed from groups no instance uses any more and on deletion, without reading every group
// of the region as upstream does. A tag value holds 256 characters: about a dozen groups.
const tagNodeGroups = "cloudlb.io/node-groups"

// taggedGroups are the node groups an NLB's tag lists.
func taggedGroups(tags map[string]string) map[string]bool {
	out := map[string]bool{}
	for g := range strings.SplitSeq(tags[tagNodeGroups], ",") {
		if g != "" {
			out[g] = true
		}
	}
	return out
}

// nodeRulePlan makes name's client and health rules in a group with rules existing equal to
// the client and health rules in want, and the shared MTU rules equal to the IPv4 sources of
// every NLB's client rules left in the group.
func nodeRulePlan(existing, want []Rule, name string) (add, remove []Rule) {
	mine := func(r Rule) bool { return r.Description == ruleClient+name || r.Description == ruleHealth+name }
	have := map[string]Rule{}
	final := map[string]Rule{}
	for _, r := range existing {
		final[r.key()] = r
		if mine(r) {
			have[r.key()] = r
		}
	}
	for _, r := range want {
		if !mine(r) {
			continue
		}
		if _, ok := have[r.key()]; !ok {
			add = append(add, r)
			final[r.key()] = r
		}
		delete(have, r.key())
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		remove = append(remove, have[k])
		delete(final, k)
	}
	mtu := map[string]bool{}
	for _, r := range final {
		if strings.HasPrefix(r.Description, ruleClient) && r.CIDR != "" && !strings.Contains(r.CIDR, ":") {
			mtu[r.CIDR] = true
		}
	}
	for _, r := range final {
		if r.Description == ruleMTU {
			if !mtu[r.CIDR] {
				remove = append(remove, r)
			}
			delete(mtu, r.CIDR)
		}
	}
	for _, cidr := range slices.Sorted(maps.Keys(mtu)) {
		add = append(add, Rule{Protocol: "icmp", FromPort: 3, ToPort: 4, CIDR: cidr, Description: ruleMTU})
	}
	return add, remove
}

// tagNodeRules holds nodeRulesHash of the last applied node security group rules, so the
// groups are read only when the load balancer's group or the set of node groups changes. A
// node joining with the same group as the others (the common case) changes neither.
const tagNodeRules = "cloudlb.io/node-rules-hash"

// nodeRulesHash summarises what the node rules depend on: the source group and the sorted
// node groups that must let it in.
func nodeRulesHash(source string, groups []string) string {
	sum := sha256.Sum256([]byte(source + "|" + strings.Join(groups, ",")))
	return hex.EncodeToString(sum[:8])
}

// withGroupID replaces the placeholder ref (managedGroupRef, backendGroupRef) as the source
// group of rules by the group's ID.
func withGroupID(rules []Rule, ref, id string) []Rule {
	out := slices.Clone(rules)
	for i := range out {
		if out[i].Group == ref {
			out[i].Group = id
		}
	}
	return out
}

// groupView holds the rules of the security groups Observe read as the plan's earlier writes
// leave them: a write planned after another is planned against that one's effect, as if the
// groups had been read again in between (the node rules of an NLB retired by a type change,
// then the rules that let the new load balancer in).
type groupView map[string]*ObservedGroup

// add puts the groups in the view, as read; a group already in it is kept as it is.
func (v groupView) add(gs ...*ObservedGroup) {
	for _, g := range gs {
		if g == nil {
			continue
		}
		if _, ok := v[g.ID]; !ok {
			v[g.ID] = &ObservedGroup{ID: g.ID, Tags: g.Tags, Rules: slices.Clone(g.Rules)}
		}
	}
}

// change records a planned authorize (add) and revoke (remove) in group id.
func (v groupView) change(id string, add, remove []Rule) {
	g, ok := v[id]
	if !ok {
		return
	}
	gone := map[string]bool{}
	for _, r := range remove {
		gone[r.key()] = true
	}
	g.Rules = slices.DeleteFunc(g.Rules, func(r Rule) bool { return gone[r.key()] })
	for _, r := range add {
		if !slices.ContainsFunc(g.Rules, func(x Rule) bool { return x.key() == r.key() }) {
			g.Rules = append(g.Rules, r)
		}
	}
}

// from are the rules of group id whose source is the group source.
func (v groupView) from(id, source string) []Rule {
	g, ok := v[id]
	if !ok {
		return nil
	}
	var out []Rule
	for _, r := range g.Rules {
		if r.Group == source {
			out = append(out, r)
		}
	}
	return out
}

// users are those of the groups read as letting source in that still do, sorted by ID.
func (v groupView) users(source string, read []*ObservedGroup) []string {
	var out []string
	for _, g := range read {
		if len(v.from(g.ID, source)) > 0 {
			out = append(out, g.ID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// nlbRuleWrites plans making the NLB name's node rules in each group of ids that exists
// equal to want(id), the shared MTU rules following (nodeRulePlan), and records them in v.
func nlbRuleWrites(v groupView, ids map[string]bool, name string, want func(id string) []Rule) []write {
	var ws []write
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		g, ok := v[id]
		if !ok {
			continue // gone
		}
		add, remove := nodeRulePlan(g.Rules, want(id), name)
		if len(add) > 0 {
			ws = append(ws, authorizeIngress{group: known(id), rules: add})
		}
		if len(remove) > 0 {
			ws = append(ws, revokeIngress{group: known(id), rules: remove})
		}
		v.change(id, add, remove)
	}
	return ws
}

// revokeAllWrites plans removing every rule that lets source in from the groups read as its
// users, as the view has them.
func revokeAllWrites(v groupView, source string, read []*ObservedGroup) []write {
	var ws []write
	for _, id := range v.users(source, read) {
		rules := v.from(id, source)
		ws = append(ws, revokeIngressFrom{group: id, source: source, rules: rules})
		v.change(id, nil, rules)
	}
	return ws
}

// nodeGroupsTag is the tagNodeGroups value listing want; "" when the list does not fit.
func nodeGroupsTag(want map[string]bool) string {
	v := strings.Join(slices.Sorted(maps.Keys(want)), ",")
	if len(v) > 256 {
		v = "" // too many groups to remember: cleanup falls back to what is wanted next time
	}
	return v
}

// classicNodeRuleWrites plans a Classic Load Balancer's node rules: its source group let into
// each node group of its instances (one all-traffic rule per group, as upstream), the rule
// removed from cluster-tagged groups no instance needs any more, and the node-rules tag
// that spares the next reconcile these reads. The users of the source are taken as the view
// has them, after the earlier writes of the plan.
func classicNodeRuleWrites(v groupView, name string, n *classicNodes) []write {
	if n == nil || n.unchanged {
		return nil
	}
	v.add(n.users...)
	have := map[string]bool{} // tagged for some cluster: the ones we may revoke from
	for _, id := range v.users(n.source.id, n.users) {
		have[id] = anyClusterTag(v[id].Tags)
	}
	var ws []write
	for _, g := range slices.Sorted(maps.Keys(n.want)) {
		if _, ok := have[g]; !ok {
			ws = append(ws, authorizeLBIngress{group: g, source: n.source, lb: name})
		}
	}
	for _, g := range slices.Sorted(maps.Keys(have)) {
		if !n.want[g] && have[g] {
			ws = append(ws, revokeLBIngress{group: g, source: n.source.id})
		}
	}
	return append(ws, addNodeRulesTag{lb: name, source: n.source, groups: slices.Sorted(maps.Keys(n.want))})
}
