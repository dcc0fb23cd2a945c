package aws

import (
	"context"
	"maps"
	"slices"
	"strings"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// updateNLBTargets is UpdateLoadBalancer's fast path for an NLB: when the cached state says
// everything but the instances matches m, and the instances' security groups are the ones
// holding the NLB's node rules, it registers and deregisters targets in each target group
// and writes the new spec hash: one call per target group and change, plus the tag. It
// returns false, having done nothing, when the full reconcile is needed.
func (c *Cloud) updateNLBTargets(ctx context.Context, m *NLBModel, vpc string) (bool, error) {
	st, ok := c.nlbs.get(m.Name)
	if !ok || len(st.targetGroups) == 0 {
		return false, nil
	}
	before := *m
	before.Instances = st.instances
	if before.Hash() != st.tags[tagSpecHash] {
		return false, nil
	}
	for _, tg := range m.TargetGroups {
		if st.targetGroups[tg.Name] == "" {
			return false, nil
		}
	}
	if !c.cfg.Global.DisableSecurityGroupIngress {
		groups, err := c.nodeGroups(ctx, m.Cluster, vpc, m.Instances)
		if err != nil {
			return false, err
		}
		if strings.Join(slices.Sorted(maps.Keys(groups)), ",") != st.tags[tagNodeGroups] {
			return false, nil
		}
	}
	if slices.Equal(m.Instances, st.instances) {
		return true, nil
	}
	c.nlbs.drop(m.Name) // until every write has succeeded
	for _, tg := range m.TargetGroups {
		if err := c.syncTargets(ctx, st.targetGroups[tg.Name], tg.Port, m.Instances, st.instances); err != nil {
			return true, err
		}
	}
	hash := m.Hash()
	if _, err := call(ctx, c.limits, "elbv2.AddTags", func() (*elbv2.AddTagsOutput, error) {
		return c.elbv2.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{st.arn}, Tags: v2Tags(map[string]string{tagSpecHash: hash})})
	}); err != nil {
		return true, err
	}
	st.tags[tagSpecHash], st.instances = hash, slices.Clone(m.Instances)
	c.nlbs.put(m.Name, st)
	return true, nil
}
