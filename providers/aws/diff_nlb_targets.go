package aws

import (
	"cmp"
	"maps"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// targetGroups plans each target group: created with its attributes and targets, or its
// health check, attributes and targets repaired.
func (d *nlbDiff) targetGroups() {
	m := d.m
	d.p.targetGroups = map[string]ref{}
	d.adopt()
	for _, tg := range m.TargetGroups {
		cur := d.have[tg.Name]
		if cur == nil {
			r := toCreate(tg.Name)
			d.p.targetGroups[tg.Name] = r
			d.add(createTargetGroup{tg: tg, cluster: m.Cluster, service: m.Service})
			// A new group has AWS's defaults: only the attributes asked for are set.
			if change := tgAttributeChanges(tg.Attributes, nil); len(change) > 0 {
				d.add(modifyTargetGroupAttributes{tg: r, attributes: change})
			}
			d.targets(r, tg.Port, nil)
			continue
		}
		r := known(cur.arn)
		d.p.targetGroups[tg.Name] = r
		if healthCheckOf(&cur.current) != tg.HealthCheck {
			d.add(modifyTargetGroup{tg: r, healthCheck: tg.HealthCheck})
		}
		if change := tgAttributeChanges(tg.Attributes, cur.attributes); len(change) > 0 {
			d.add(modifyTargetGroupAttributes{tg: r, attributes: change})
		}
		d.targets(r, tg.Port, cur.targets)
	}
}

// targets plans registering the model's instances missing from have, then deregistering the
// extra ones.
func (d *nlbDiff) targets(tg ref, port int32, have []string) {
	add, remove := setDiff(d.m.Instances, have)
	if len(add) > 0 {
		d.add(registerTargets{tg: tg, port: port, ids: add})
	}
	if len(remove) > 0 {
		d.add(deregisterTargets{tg: tg, port: port, ids: remove})
	}
}

// tgAttributeChanges are the wanted attributes that differ from have (nil: a group just
// created, with AWS's defaults), and the known ones no longer wanted set back to AWS's
// default.
func tgAttributeChanges(want, have map[string]string) []keyValue {
	var change []keyValue
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := have[k]; !ok || v != want[k] {
			change = append(change, keyValue{k, want[k]})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(tgAttributeDefaults)) {
		if _, wanted := want[k]; !wanted {
			if v, ok := have[k]; ok && v != tgAttributeDefaults[k] {
				change = append(change, keyValue{k, tgAttributeDefaults[k]})
			}
		}
	}
	return change
}

// keyValue is one attribute to set.
type keyValue struct{ key, value string }

// listeners plans creating, modifying and deleting listeners, by port.
func (d *nlbDiff) listeners() {
	m := d.m
	have := maps.Clone(d.o.listeners)
	for _, l := range m.Listeners {
		tg := d.p.targetGroups[l.TargetGroup]
		cur, ok := have[l.Port]
		delete(have, l.Port)
		switch {
		case !ok:
			d.add(createListener{lb: d.p.lb, listener: l, tg: tg, cluster: m.Cluster, service: m.Service})
		case tg.id == "" || !listenerMatches(cur, l, tg.id):
			d.moveListener(cur, l, tg)
		}
	}
	for _, port := range slices.Sorted(maps.Keys(have)) {
		d.add(deleteListener{arn: aws.ToString(have[port].ListenerArn)})
	}
}

// listenerMatches reports whether listener cur is l forwarding to the target group tgArn.
func listenerMatches(cur v2types.Listener, l NLBListener, tgArn string) bool {
	if string(cur.Protocol) != l.Protocol || len(cur.DefaultActions) != 1 || aws.ToString(cur.DefaultActions[0].TargetGroupArn) != tgArn {
		return false
	}
	cert := ""
	if len(cur.Certificates) > 0 {
		cert = aws.ToString(cur.Certificates[0].CertificateArn)
	}
	// AWS fills in a default policy on TLS listeners; only a policy we asked for is compared.
	if cert != l.Certificate || l.SSLPolicy != "" && aws.ToString(cur.SslPolicy) != l.SSLPolicy {
		return false
	}
	return l.Protocol != "TLS" || alpnOf(cur) == cmp.Or(l.ALPNPolicy, alpnNone)
}

// alpnOf is a listener's ALPN policy, None when AWS reports none.
func alpnOf(l v2types.Listener) string {
	if len(l.AlpnPolicy) == 0 {
		return alpnNone
	}
	return l.AlpnPolicy[0]
}

// healthCheckOf is a target group's health check as the model writes it.
func healthCheckOf(tg *v2types.TargetGroup) NLBHealthCheck {
	hc := NLBHealthCheck{
		Protocol: string(tg.HealthCheckProtocol), Port: aws.ToString(tg.HealthCheckPort), Path: aws.ToString(tg.HealthCheckPath),
		Interval: aws.ToInt32(tg.HealthCheckIntervalSeconds), Timeout: aws.ToInt32(tg.HealthCheckTimeoutSeconds),
		HealthyThreshold: aws.ToInt32(tg.HealthyThresholdCount), UnhealthyThreshold: aws.ToInt32(tg.UnhealthyThresholdCount),
	}
	if isHTTP(hc.Protocol) && tg.Matcher != nil && aws.ToString(tg.Matcher.HttpCode) != defaultSuccessCodes {
		hc.SuccessCodes = aws.ToString(tg.Matcher.HttpCode)
	}
	return hc
}

// attributes plans the NLB's attributes: cross-zone and access logs always, the known ones
// not asked for back to AWS's default, and those aws-load-balancer-attributes sets.
func (d *nlbDiff) attributes() {
	m := d.m
	have := d.o.attributes
	if d.o.lb == nil || d.o.replace {
		have = freshNLBAttributes(m.Internal)
	}
	want := map[string]string{
		"load_balancing.cross_zone.enabled": strconv.FormatBool(m.CrossZone),
		"access_logs.s3.enabled":            strconv.FormatBool(m.AccessLog.Enabled),
	}
	if m.AccessLog.Enabled {
		want["access_logs.s3.bucket"], want["access_logs.s3.prefix"] = m.AccessLog.Bucket, m.AccessLog.Prefix
	}
	for k, def := range lbAttributeDefaults(m.Internal) {
		if _, ok := have[k]; ok {
			want[k] = def // a known attribute not (or no longer) asked for: AWS's default
		}
	}
	maps.Copy(want, m.Attributes)
	var change []keyValue
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if have[k] != want[k] {
			change = append(change, keyValue{k, want[k]})
		}
	}
	if len(change) > 0 {
		d.add(modifyNLBAttributes{lb: d.p.lb, attributes: change})
	}
}

// freshNLBAttributes are the attributes AWS gives an NLB it creates: what the plan of an NLB
// not created yet (or replaced) diffs against, since there is nothing to read.
func freshNLBAttributes(internal bool) map[string]string {
	a := lbAttributeDefaults(internal)
	maps.Copy(a, map[string]string{"load_balancing.cross_zone.enabled": "false", "access_logs.s3.enabled": "false",
		"access_logs.s3.bucket": "", "access_logs.s3.prefix": ""})
	return a
}

// staleTargetGroups plans deleting the Service's target groups (found by their tags) that the
// NLB's listeners no longer use (a changed port, protocol or health-check protocol), also
// those an earlier attempt failed to delete, so a failed delete is retried, not forgotten.
func (d *nlbDiff) staleTargetGroups() {
	if d.o.lb == nil {
		return
	}
	var inUse []string
	for _, r := range d.p.targetGroups {
		inUse = append(inUse, r.id)
	}
	inUse = append(inUse, d.staged...)
	for _, arn := range d.o.ownedTargetGroups {
		if !slices.Contains(inUse, arn) {
			d.p.steps.add(whyStaleTG, "", deleteTargetGroup{arn: arn})
		}
	}
}

// tgAttributeDefaults are AWS's values of the NLB target-group attributes (instance
// targets): a key dropped from the annotations is set back to its default.
var tgAttributeDefaults = map[string]string{
	"deregistration_delay.timeout_seconds":                                           "300",
	"deregistration_delay.connection_termination.enabled":                            "false",
	"preserve_client_ip.enabled":                                                     "true",
	"proxy_protocol_v2.enabled":                                                      "false",
	"stickiness.enabled":                                                             "false",
	"stickiness.type":                                                                "source_ip",
	"load_balancing.cross_zone.enabled":                                              "use_load_balancer_configuration",
	"target_health_state.unhealthy.connection_termination.enabled":                   "true",
	"target_health_state.unhealthy.draining_interval_seconds":                        "0",
	"target_group_health.dns_failover.minimum_healthy_targets.count":                 "1",
	"target_group_health.dns_failover.minimum_healthy_targets.percentage":            "off",
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      "1",
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
}

// lbAttributeDefaults are AWS's values of the NLB attributes aws-load-balancer-attributes
// may set (other than access logs and cross-zone, which are always written).
func lbAttributeDefaults(internal bool) map[string]string {
	return map[string]string{
		"deletion_protection.enabled":            "false",
		"ipv6.deny_all_igw_traffic":              strconv.FormatBool(internal),
		"zonal_shift.config.enabled":             "false",
		"dns_record.client_routing_policy":       "any_availability_zone",
		"secondary_ips.auto_assigned.per_subnet": "0",
	}
}
