package fakeaws

import (
	"regexp"
	"strconv"
	"strings"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// ELBv2 checks; VALIDATIONS.md cites their sources.

var (
	// The shapes of the ARNs AWS accepts; the ID part is not checked for length, since AWS
	// documents none and a well-formed unknown ARN must reach the NotFound answer.
	lbARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/(net|app|gwy)/[A-Za-z0-9-]+/[0-9a-f]+$`)
	tgARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/[A-Za-z0-9-]+/[0-9a-f]+$`)
)

// checkARN tells a missing ARN (required) from a malformed one (not an ARN of that kind),
// both ValidationErrors, before the lookup answers NotFound for a well-formed unknown one.
func checkARN(arn, member string, re *regexp.Regexp) error {
	if arn == "" {
		return errRequired(member)
	}
	if !re.MatchString(arn) {
		kind := "load balancer"
		if re == tgARNRE {
			kind = "target group"
		}
		return errValidation("'%s' is not a valid %s ARN", arn, kind)
	}
	return nil
}

// checkCreateLB checks CreateLoadBalancer's own parameters, before any lookup.
func checkCreateLB(in *elbv2.CreateLoadBalancerInput) error {
	if in.Name == nil {
		return errRequired("name")
	}
	switch in.Type {
	case "", elbv2types.LoadBalancerTypeEnumApplication, elbv2types.LoadBalancerTypeEnumNetwork, elbv2types.LoadBalancerTypeEnumGateway:
	default:
		return errValidation("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [application, network, gateway]", in.Type)
	}
	return checkELBTags(elbv2Tags(in.Tags), in.Tags != nil, false)
}

var tgProtocols = []elbv2types.ProtocolEnum{
	elbv2types.ProtocolEnumHttp, elbv2types.ProtocolEnumHttps, elbv2types.ProtocolEnumTcp, elbv2types.ProtocolEnumTls,
	elbv2types.ProtocolEnumUdp, elbv2types.ProtocolEnumTcpUdp, elbv2types.ProtocolEnumGeneve,
}

// checkCreateTG checks CreateTargetGroup's own parameters: the name, enums, the port and
// the health check's path and port.
func checkCreateTG(in *elbv2.CreateTargetGroupInput) error {
	if in.Name == nil {
		return errRequired("name")
	}
	if in.Protocol != "" && !containsEnum(tgProtocols, in.Protocol) {
		return errValidation("1 validation error detected: Value '%s' at 'protocol' failed to satisfy constraint: Member must satisfy enum value set", in.Protocol)
	}
	switch in.TargetType {
	case "", elbv2types.TargetTypeEnumInstance, elbv2types.TargetTypeEnumIp, elbv2types.TargetTypeEnumLambda, elbv2types.TargetTypeEnumAlb:
	default:
		return errValidation("1 validation error detected: Value '%s' at 'targetType' failed to satisfy constraint: Member must satisfy enum value set: [instance, ip, lambda, alb]", in.TargetType)
	}
	if p := in.Port; p != nil && (*p < 1 || *p > 65535) {
		return errValidation("1 validation error detected: Value '%d' at 'port' failed to satisfy constraint: Member must have value between 1 and 65535", *p)
	}
	if p := in.HealthCheckPath; p != nil && (len(*p) < 1 || len(*p) > 1024 || !strings.HasPrefix(*p, "/")) {
		return errValidation("Health check path '%s' must start with '/' and be 1 to 1024 characters long", *p)
	}
	if p := in.HealthCheckPort; p != nil && *p != "traffic-port" {
		if n, err := strconv.Atoi(*p); err != nil || n < 1 || n > 65535 {
			return errValidation("Health check port '%s' must be 'traffic-port' or a port between 1 and 65535", *p)
		}
	}
	return checkELBTags(elbv2Tags(in.Tags), in.Tags != nil, false)
}

func containsEnum[T ~string](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// checkTargets requires RegisterTargets' and DeregisterTargets' targets, each with an ID
// and, when given, a port in range.
func checkTargets(targets []elbv2types.TargetDescription) error {
	if targets == nil {
		return errRequired("targets")
	}
	if len(targets) == 0 {
		return errTooFew("targets", 1)
	}
	for _, t := range targets {
		if t.Id == nil {
			return errRequired("targets.member.id")
		}
		if t.Port != nil && (*t.Port < 1 || *t.Port > 65535) {
			return errValidation("1 validation error detected: Value '%d' at 'targets.member.port' failed to satisfy constraint: Member must have value between 1 and 65535", *t.Port)
		}
	}
	return nil
}

// checkResourceArns bounds the ResourceArns of the tag operations: 1 to 20.
func checkResourceArns(arns []string) error {
	if arns == nil {
		return errRequired("resourceArns")
	}
	if len(arns) == 0 {
		return errTooFew("resourceArns", 1)
	}
	if len(arns) > 20 {
		return errValidation("1 validation error detected: Value at 'resourceArns' failed to satisfy constraint: Member must have length less than or equal to 20")
	}
	return nil
}

// linkedGroups lists the target groups some listener forwards to, before relink changes it.
func (s *Server) linkedGroups() map[string]bool {
	out := map[string]bool{}
	for _, tg := range s.elbv2.tgs.list() {
		if len(tg.tg.LoadBalancerArns) > 0 {
			out[*tg.tg.TargetGroupArn] = true
		}
	}
	return out
}

// markReleased starts the ResourceInUse window (Options.TargetGroupInUseCalls) of every
// group that was linked before relink and is not any more: AWS keeps such a group in use for
// a short while after its last listener went away.
func (s *Server) markReleased(before map[string]bool) {
	if s.opts.TargetGroupInUseCalls <= 0 {
		return
	}
	for _, tg := range s.elbv2.tgs.list() {
		if before[*tg.tg.TargetGroupArn] && len(tg.tg.LoadBalancerArns) == 0 {
			tg.inUseCalls = s.opts.TargetGroupInUseCalls
		}
	}
}
