package aws

import (
	"cmp"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/cloudlb/cloudlb/providers"
)

// setHealthCheck fills the health-check fields of a CreateTargetGroup or ModifyTargetGroup
// input.
func setHealthCheck(hc NLBHealthCheck, proto *v2types.ProtocolEnum, port, path **string, interval, timeout, healthy, unhealthy **int32, matcher **v2types.Matcher) {
	*proto = v2types.ProtocolEnum(hc.Protocol)
	*port = aws.String(hc.Port)
	if hc.Path != "" {
		*path = aws.String(hc.Path)
	}
	if isHTTP(hc.Protocol) {
		*matcher = &v2types.Matcher{HttpCode: aws.String(cmp.Or(hc.SuccessCodes, defaultSuccessCodes))}
	}
	*interval, *timeout = aws.Int32(hc.Interval), aws.Int32(hc.Timeout)
	*healthy, *unhealthy = aws.Int32(hc.HealthyThreshold), aws.Int32(hc.UnhealthyThreshold)
}

// errTargetGroupInUse is the transient answer of DeleteTargetGroup right after the load
// balancer or listener using the group went away: the delete is retried, never dropped.
var errTargetGroupInUse = fmt.Errorf("target group still in use, retrying")

// deleteTargetGroups deletes the given target groups; one already gone counts as deleted.
func (c *Cloud) deleteTargetGroups(ctx context.Context, arns []string) error {
	for _, arn := range arns {
		_, err := call(ctx, c.limits, "elbv2.DeleteTargetGroup", func() (*elbv2.DeleteTargetGroupOutput, error) {
			return c.elbv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
		})
		switch errorCode(err) {
		case "", "TargetGroupNotFound":
		case "ResourceInUse":
			return fmt.Errorf("deleting target group %s: %w: %w", arn, errTargetGroupInUse, err)
		default:
			return fmt.Errorf("deleting target group %s: %w", arn, err)
		}
	}
	return nil
}

// createTargetGroup creates a target group with its health check and ownership tags.
type createTargetGroup struct {
	tg               TargetGroup
	cluster, service string
}

func (w createTargetGroup) audit() providers.Write {
	return providers.Write{Operation: "elbv2.CreateTargetGroup", Object: w.tg.Name, Change: providers.ChangeCreated}
}

func (w createTargetGroup) apply(ctx context.Context, r *run) error {
	tg := w.tg
	in := &elbv2.CreateTargetGroupInput{
		Name: aws.String(tg.Name), Protocol: v2types.ProtocolEnum(tg.Protocol), Port: aws.Int32(tg.Port), VpcId: aws.String(r.vpc),
		TargetType: v2types.TargetTypeEnumInstance, Tags: v2Tags(map[string]string{clusterTag(w.cluster): tagOwned, tagServiceName: w.service}),
	}
	setHealthCheck(tg.HealthCheck, &in.HealthCheckProtocol, &in.HealthCheckPort, &in.HealthCheckPath, &in.HealthCheckIntervalSeconds,
		&in.HealthCheckTimeoutSeconds, &in.HealthyThresholdCount, &in.UnhealthyThresholdCount, &in.Matcher)
	out, err := call(ctx, r.c.limits, "elbv2.CreateTargetGroup", func() (*elbv2.CreateTargetGroupOutput, error) { return r.c.elbv2.CreateTargetGroup(ctx, in) })
	if err != nil {
		return err
	}
	r.created[tg.Name] = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	return nil
}

// modifyTargetGroup repairs a target group's health check.
type modifyTargetGroup struct {
	tg          ref
	healthCheck NLBHealthCheck
}

func (w modifyTargetGroup) audit() providers.Write {
	return providers.Write{Operation: "elbv2.ModifyTargetGroup", Object: w.tg.String()}
}

func (w modifyTargetGroup) apply(ctx context.Context, r *run) error {
	arn, err := r.resolve(w.tg)
	if err != nil {
		return err
	}
	in := &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(arn)}
	setHealthCheck(w.healthCheck, &in.HealthCheckProtocol, &in.HealthCheckPort, &in.HealthCheckPath, &in.HealthCheckIntervalSeconds,
		&in.HealthCheckTimeoutSeconds, &in.HealthyThresholdCount, &in.UnhealthyThresholdCount, &in.Matcher)
	_, err = call(ctx, r.c.limits, "elbv2.ModifyTargetGroup", func() (*elbv2.ModifyTargetGroupOutput, error) { return r.c.elbv2.ModifyTargetGroup(ctx, in) })
	return err
}

// modifyTargetGroupAttributes sets target group attributes.
type modifyTargetGroupAttributes struct {
	tg         ref
	attributes []keyValue
}

func (w modifyTargetGroupAttributes) audit() providers.Write {
	return providers.Write{Operation: "elbv2.ModifyTargetGroupAttributes", Object: w.tg.String()}
}

func (w modifyTargetGroupAttributes) apply(ctx context.Context, r *run) error {
	arn, err := r.resolve(w.tg)
	if err != nil {
		return err
	}
	var attrs []v2types.TargetGroupAttribute
	for _, a := range w.attributes {
		attrs = append(attrs, v2types.TargetGroupAttribute{Key: aws.String(a.key), Value: aws.String(a.value)})
	}
	_, err = call(ctx, r.c.limits, "elbv2.ModifyTargetGroupAttributes", func() (*elbv2.ModifyTargetGroupAttributesOutput, error) {
		return r.c.elbv2.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn), Attributes: attrs})
	})
	return err
}

// registerTargets and deregisterTargets add and remove instances of a target group.
type registerTargets struct {
	tg   ref
	port int32
	ids  []string
}

type deregisterTargets registerTargets

func (w registerTargets) audit() providers.Write {
	return providers.Write{Operation: "elbv2.RegisterTargets", Object: w.tg.String()}
}

func (w registerTargets) apply(ctx context.Context, r *run) error {
	arn, err := r.resolve(w.tg)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elbv2.RegisterTargets", func() (*elbv2.RegisterTargetsOutput, error) {
		return r.c.elbv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: targets(w.ids, w.port)})
	})
	return err
}

func (w deregisterTargets) audit() providers.Write {
	return providers.Write{Operation: "elbv2.DeregisterTargets", Object: w.tg.String()}
}

func (w deregisterTargets) apply(ctx context.Context, r *run) error {
	arn, err := r.resolve(w.tg)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elbv2.DeregisterTargets", func() (*elbv2.DeregisterTargetsOutput, error) {
		return r.c.elbv2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: targets(w.ids, w.port)})
	})
	return err
}

// targets are instance targets on port.
func targets(ids []string, port int32) []v2types.TargetDescription {
	out := make([]v2types.TargetDescription, len(ids))
	for i, id := range ids {
		out[i] = v2types.TargetDescription{Id: aws.String(id), Port: aws.Int32(port)}
	}
	return out
}

// createListener, modifyListener and deleteListener keep the NLB's listeners the model's.
type createListener struct {
	lb               ref
	listener         NLBListener
	tg               ref
	cluster, service string
}

func (w createListener) audit() providers.Write {
	return providers.Write{Operation: "elbv2.CreateListener", Object: w.lb.String()}
}

func (w createListener) apply(ctx context.Context, r *run) error {
	lb, err := r.resolve(w.lb)
	if err != nil {
		return err
	}
	l, action, certs, policy, err := listenerInput(r, w.listener, w.tg)
	if err != nil {
		return err
	}
	_, err = call(ctx, r.c.limits, "elbv2.CreateListener", func() (*elbv2.CreateListenerOutput, error) {
		return r.c.elbv2.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(lb), Port: aws.Int32(l.Port),
			Protocol: v2types.ProtocolEnum(l.Protocol), DefaultActions: action, Certificates: certs, SslPolicy: policy, AlpnPolicy: createALPN(l),
			Tags: v2Tags(map[string]string{clusterTag(w.cluster): tagOwned, tagServiceName: w.service})})
	})
	return err
}

type modifyListener struct {
	arn      string
	listener NLBListener
	tg       ref
	// warm are the target groups that keep the traffic (weight 1) while tg, weight 0, is
	// attached for its targets to be health-checked; nil forwards to tg alone.
	warm []string
}

func (w modifyListener) audit() providers.Write {
	return providers.Write{Operation: "elbv2.ModifyListener", Object: w.arn}
}

func (w modifyListener) apply(ctx context.Context, r *run) error {
	l, action, certs, policy, err := listenerInput(r, w.listener, w.tg)
	if err != nil {
		return err
	}
	if len(w.warm) > 0 {
		fc := &v2types.ForwardActionConfig{}
		for _, arn := range w.warm {
			fc.TargetGroups = append(fc.TargetGroups, v2types.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: aws.Int32(1)})
		}
		fc.TargetGroups = append(fc.TargetGroups, v2types.TargetGroupTuple{TargetGroupArn: action[0].TargetGroupArn, Weight: aws.Int32(0)})
		action = []v2types.Action{{Type: v2types.ActionTypeEnumForward, ForwardConfig: fc}}
	}
	var alpn []string // sent on TLS listeners only
	if l.Protocol == "TLS" {
		alpn = []string{cmp.Or(l.ALPNPolicy, alpnNone)}
	}
	_, err = call(ctx, r.c.limits, "elbv2.ModifyListener", func() (*elbv2.ModifyListenerOutput, error) {
		return r.c.elbv2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(w.arn), Port: aws.Int32(l.Port),
			Protocol: v2types.ProtocolEnum(l.Protocol), DefaultActions: action, Certificates: certs, SslPolicy: policy, AlpnPolicy: alpn})
	})
	return err
}

// listenerInput is what creating and modifying a listener send: the forward action to the
// target group, the certificate and the TLS policy.
func listenerInput(r *run, l NLBListener, tg ref) (NLBListener, []v2types.Action, []v2types.Certificate, *string, error) {
	arn, err := r.resolve(tg)
	if err != nil {
		return l, nil, nil, nil, err
	}
	action := []v2types.Action{{Type: v2types.ActionTypeEnumForward, TargetGroupArn: aws.String(arn)}}
	var certs []v2types.Certificate
	if l.Certificate != "" {
		certs = []v2types.Certificate{{CertificateArn: aws.String(l.Certificate)}}
	}
	var policy *string
	if l.SSLPolicy != "" {
		policy = aws.String(l.SSLPolicy)
	}
	return l, action, certs, policy, nil
}

// createALPN is the ALPN policy of a new listener: only one chosen, on TLS.
func createALPN(l NLBListener) []string {
	if l.Protocol != "TLS" || l.ALPNPolicy == "" {
		return nil
	}
	return []string{l.ALPNPolicy}
}

type deleteListener struct{ arn string }

func (w deleteListener) audit() providers.Write {
	return providers.Write{Operation: "elbv2.DeleteListener", Object: w.arn}
}

func (w deleteListener) apply(ctx context.Context, r *run) error {
	_, err := call(ctx, r.c.limits, "elbv2.DeleteListener", func() (*elbv2.DeleteListenerOutput, error) {
		return r.c.elbv2.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(w.arn)})
	})
	if errorCode(err) == "ListenerNotFound" {
		return nil
	}
	return err
}

// deleteTargetGroup deletes a target group no listener uses; see deleteTargetGroups.
type deleteTargetGroup struct{ arn string }

func (w deleteTargetGroup) audit() providers.Write {
	return providers.Write{Operation: "elbv2.DeleteTargetGroup", Object: w.arn, Change: providers.ChangeDeleted}
}

func (w deleteTargetGroup) apply(ctx context.Context, r *run) error {
	return r.c.deleteTargetGroups(ctx, []string{w.arn})
}
