package aws

import (
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// whyWarmTG is the reason of a listener that keeps its target group while the new one warms.
const whyWarmTG = "the listener keeps its target group (weight 1) while the new one's targets become healthy (weight 0)"

// adopt sets d.have: each model target group found by its name, else one of the Service's
// groups that the listeners of that group forward to, when it is compatible (same protocol,
// port, target type, VPC, IP address type): cloud-provider-aws's k8s-<ns>-<name>-<hash>
// groups are kept, with their targets and their traffic, whatever their name.
func (d *nlbDiff) adopt() {
	d.have = map[string]*observedTargetGroup{}
	for _, tg := range d.m.TargetGroups {
		if cur := d.o.targetGroups[tg.Name]; cur != nil {
			d.have[tg.Name] = cur
			continue
		}
		for _, l := range d.m.Listeners {
			cur, ok := d.o.listeners[l.Port]
			if l.TargetGroup != tg.Name || !ok {
				continue
			}
			for _, arn := range forwardARNs(cur) {
				if s := d.o.serving[arn]; s != nil && d.have[tg.Name] == nil && !d.adopted(arn) && compatible(s.current, tg, d.o.vpc) {
					d.have[tg.Name] = s
				}
			}
		}
	}
}

// adopted reports whether arn already stands for a model target group.
func (d *nlbDiff) adopted(arn string) bool {
	for _, cur := range d.have {
		if cur.arn == arn {
			return true
		}
	}
	return false
}

// moveListener plans pointing listener cur at the model's l and tg. When cur forwards to
// groups of the Service that have healthy targets and tg's are not healthy yet (a group just
// created, or still checking), the move would leave the listener without a healthy target
// for as long as AWS takes to register and check them: the listener then forwards to the old
// groups (weight 1) and tg (weight 0), which attaches tg so that AWS checks its targets, the
// old groups stay, and the caller retries (nlbPlan.waiting). Once tg is ready the listener
// forwards to tg alone and the old groups are deleted as stale.
func (d *nlbDiff) moveListener(cur v2types.Listener, l NLBListener, tg ref) {
	arn := aws.ToString(cur.ListenerArn)
	want := d.m.targetGroup(l.TargetGroup)
	var old []string
	for _, s := range forwardARNs(cur) {
		if g := d.o.serving[s]; s != tg.id && g != nil && g.healthy > 0 && string(g.current.Protocol) == want.Protocol {
			old = append(old, s)
		}
	}
	if len(old) == 0 || d.ready(l.TargetGroup) {
		d.add(modifyListener{arn: arn, listener: l, tg: tg})
		return
	}
	d.staged = append(d.staged, old...)
	d.p.waiting = append(d.p.waiting, fmt.Sprintf("listener %s:%d", l.Protocol, l.Port))
	if tg.id != "" && stagedAs(cur, l, tg.id, old) {
		return // already staged: wait
	}
	d.p.steps.add(whyWarmTG, "", modifyListener{arn: arn, listener: l, tg: tg, warm: old})
}

// ready reports whether the model's target group name exists and its targets have passed
// their health checks: some healthy, none still initial.
func (d *nlbDiff) ready(name string) bool {
	cur := d.have[name]
	return cur != nil && cur.healthy > 0 && cur.initial == 0
}

// stagedAs reports whether cur is l forwarding to old and the new group tgArn already.
func stagedAs(cur v2types.Listener, l NLBListener, tgArn string, old []string) bool {
	have := forwardARNs(cur)
	want := append(slices.Clone(old), tgArn)
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		return false
	}
	single := cur
	single.DefaultActions = []v2types.Action{{Type: v2types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgArn)}}
	return listenerMatches(single, l, tgArn)
}

// targetGroup is the model's target group called name.
func (m *NLBModel) targetGroup(name string) TargetGroup {
	for _, tg := range m.TargetGroups {
		if tg.Name == name {
			return tg
		}
	}
	return TargetGroup{}
}
