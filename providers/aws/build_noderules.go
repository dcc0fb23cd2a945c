package aws

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cloudlb/cloudlb/annotations"
)

// The node security group rules let a load balancer's traffic into the instances' groups. A
// Classic Load Balancer gets one all-traffic rule per node group from its source group
// (sourceGroup); an NLB gets the rules of the Kubernetes docs' table (nlbNodeRules), told
// apart from other NLBs' by their descriptions, which are upstream's so that rules it made
// are adopted.
const (
	ruleClient = "kubernetes.io/rule/nlb/client="
	ruleHealth = "kubernetes.io/rule/nlb/health="
	ruleMTU    = "kubernetes.io/rule/nlb/mtu"
)

// ruleInstances are the instances whose security groups get the node rule: none when the
// Service sets aws-load-balancer-manage-backend-security-group-rules to false, so that the
// rules added before are removed.
func ruleInstances(cfg *annotations.AWSConfig, instances []string) []string {
	if !cfg.ManageBackendSecurityGroupRules {
		return nil
	}
	return instances
}

// sourceGroup is the group the load balancer's traffic comes from: the managed group, else
// the first of the groups the Service names (as upstream: sorted, first).
func sourceGroup(groups []string) string {
	if len(groups) == 0 {
		return ""
	}
	return slices.Sorted(slices.Values(groups))[0]
}

// nlbNodeRules is the table of the Kubernetes docs: client traffic on each NodePort from the
// source ranges, health checks from the NLB's subnets (unless the client rules already
// cover them), and ICMP fragmentation-needed from the client ranges.
func nlbNodeRules(m *NLBModel, in Input, sources []string) []Rule {
	if src := m.sourceGroup(); src != "" {
		return nlbGroupNodeRules(m, src)
	}
	var rules []Rule
	trafficPorts := map[int32]bool{}
	for _, tg := range m.TargetGroups {
		protos := ruleProtocols(tg.Protocol)
		trafficPorts[tg.Port] = protos[0] == "tcp"
		for _, proto := range protos {
			for _, src := range sources {
				rules = append(rules, Rule{Protocol: proto, FromPort: tg.Port, ToPort: tg.Port, CIDR: src, Description: ruleClient + m.Name})
			}
		}
	}
	// Health checks come from the NLB's IPv4 subnet addresses: 0.0.0.0/0 covers them.
	open := slices.Contains(sources, "0.0.0.0/0")
	for _, tg := range m.TargetGroups {
		port := healthCheckPort(tg)
		if open && trafficPorts[port] {
			continue // the client rule already lets the health checks in
		}
		for _, sn := range in.Subnets {
			if slices.Contains(m.Subnets, sn.ID) && sn.CIDR != "" {
				rules = append(rules, Rule{Protocol: "tcp", FromPort: port, ToPort: port, CIDR: sn.CIDR, Description: ruleHealth + m.Name})
			}
		}
	}
	for _, src := range sources {
		if !strings.Contains(src, ":") {
			rules = append(rules, Rule{Protocol: "icmp", FromPort: 3, ToPort: 4, CIDR: src, Description: ruleMTU})
		}
	}
	return sortedRules(rules)
}

// nlbGroupNodeRules let the NLB's group into each NodePort and health-check port, in place
// of the CIDR rules: AWS evaluates a target's rules against the NLB's group when it has one.
func nlbGroupNodeRules(m *NLBModel, src string) []Rule {
	var rules []Rule
	for _, tg := range m.TargetGroups {
		protos := ruleProtocols(tg.Protocol)
		for _, proto := range protos {
			rules = append(rules, Rule{Protocol: proto, FromPort: tg.Port, ToPort: tg.Port, Group: src, Description: ruleClient + m.Name})
		}
		if port := healthCheckPort(tg); protos[0] != "tcp" || port != tg.Port {
			rules = append(rules, Rule{Protocol: "tcp", FromPort: port, ToPort: port, Group: src, Description: ruleHealth + m.Name})
		}
	}
	return sortedRules(rules)
}

// healthCheckPort is the port a target group's health checks reach: the traffic port unless
// the check names another.
func healthCheckPort(tg TargetGroup) int32 {
	if n, err := strconv.Atoi(tg.HealthCheck.Port); err == nil {
		return int32(n)
	}
	return tg.Port
}

// sortedRules sorts rules by key and drops duplicates.
func sortedRules(rules []Rule) []Rule {
	slices.SortFunc(rules, func(a, b Rule) int { return strings.Compare(a.key(), b.key()) })
	return slices.CompactFunc(rules, func(a, b Rule) bool { return a.key() == b.key() })
}
