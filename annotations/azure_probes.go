package annotations

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// azureProbes resolves the Service-wide probe settings, then each Service port's rule and probe:
// per-port keys win over spec.ports[].appProtocol, which wins over the Service-wide keys.
func (p *parser) azureProbes(c *AzureConfig) {
	c.HealthProbe = p.azureProbeDefaults()
	// Local Services probe kube-proxy, unless PROXY protocol on the PLS would break /healthz.
	local := p.ctx.Local && (c.PLS == nil || !c.PLS.ProxyProtocol)
	order, appProto := p.azurePortConfigs(c)
	pp := p.azurePerPortProbes()
	usedProto, usedPath := false, false
	for _, port := range order {
		pc := c.Ports[port]
		var up, upath bool
		pc.Probe, up, upath = p.azurePortProbe(port, pc, local, appProto[port], c.HealthProbe, pp)
		usedProto, usedPath = usedProto || up, usedPath || upath
		c.Ports[port] = pc
	}
	if _, set := get[string](p, AzureProbeProtocol); set && !usedProto {
		p.fieldWarn(AzureProbeProtocol, "", "not used by any port: Local Services are probed on spec.healthCheckNodePort, UDP and SCTP ports get no probe, and per-port settings or appProtocol take precedence")
	}
	if _, set := get[string](p, AzureProbeRequestPath); set && !usedPath {
		p.fieldWarn(AzureProbeRequestPath, "", "not used by any port: only Http and Https probes of ports without their own request path use it")
	}
}

// azureProbeDefaults are the Service-wide probe settings, checked against Azure's limit.
func (p *parser) azureProbeDefaults() AzureHealthProbeDefaults {
	proto, protoSet := get[string](p, AzureProbeProtocol)
	if !protoSet {
		proto = azureDefaultProbeProtocol
	}
	path, pathSet := get[string](p, AzureProbeRequestPath)
	if !pathSet {
		path = azureDefaultProbePath
	}
	interval, num := getOr[int64](p, AzureProbeInterval), getOr[int64](p, AzureProbeNumOfProbe)
	if interval*num >= 120 && !p.invalid(AzureProbeInterval) && !p.invalid(AzureProbeNumOfProbe) {
		d := AzureProbeInterval
		if !p.isSet(d) {
			d = AzureProbeNumOfProbe
		}
		p.fieldErr(d, "interval × num-of-probe below 120", "interval %d s × num-of-probe %d = %d s; Azure requires less than 120 s", interval, num, interval*num)
	}
	return AzureHealthProbeDefaults{Protocol: proto, RequestPath: path, IntervalSeconds: int32(interval), NumOfProbe: int32(num)}
}

// azurePortConfigs fills c.Ports with one entry per Service port number (its protocols, its
// no-rule keys) and returns the numbers in spec order and the TCP ports' appProtocol.
func (p *parser) azurePortConfigs(c *AzureConfig) (order []int32, appProto map[int32]string) {
	noLB, noProbe := perPort[bool](p, AzurePortNoLBRule), perPort[bool](p, AzurePortNoProbeRule)
	c.Ports = map[int32]AzurePortConfig{}
	appProto = map[int32]string{}
	for _, sp := range p.svc.Spec.Ports {
		pc, seen := c.Ports[sp.Port]
		if !seen {
			order = append(order, sp.Port)
			pc = AzurePortConfig{Port: sp.Port, NodePort: sp.NodePort, NoLBRule: noLB[sp.Port], NoProbeRule: noProbe[sp.Port]}
		}
		l4 := sp.Protocol
		if l4 == "" {
			l4 = v1.ProtocolTCP
		}
		pc.Protocols = append(pc.Protocols, l4)
		if l4 == v1.ProtocolTCP && sp.AppProtocol != nil {
			appProto[sp.Port] = *sp.AppProtocol
		}
		c.Ports[sp.Port] = pc
	}
	return order, appProto
}

// azurePortKeys holds the per-port probe keys' values, by port.
type azurePortKeys struct {
	proto, port, path map[int32]string
	interval, num     map[int32]int64
}

func (p *parser) azurePerPortProbes() azurePortKeys {
	return azurePortKeys{
		proto: perPort[string](p, AzurePortProbeProtocol), port: perPort[string](p, AzurePortProbePort),
		path: perPort[string](p, AzurePortProbeRequestPath), interval: perPort[int64](p, AzurePortProbeInterval),
		num: perPort[int64](p, AzurePortProbeNumOfProbe),
	}
}

// azurePortProbe returns the probe of one Service port (nil for none), and whether it used the
// Service-wide protocol and request path.
func (p *parser) azurePortProbe(port int32, pc AzurePortConfig, local bool, appProto string, def AzureHealthProbeDefaults, pp azurePortKeys) (pr *AzureProbe, usedProto, usedPath bool) {
	warnProbeKeys := func(why string) {
		for _, d := range azurePortProbeKeys {
			if _, set := p.ports[d][port]; set {
				p.azurePortWarn(d, port, "ignored: %s", why)
			}
		}
	}
	override, hasOverride := pp.port[port]
	switch {
	case pc.NoLBRule:
		warnProbeKeys("port_" + strconv.Itoa(int(port)) + "_no_lb_rule is true")
		return nil, false, false
	case pc.NoProbeRule:
		warnProbeKeys("port_" + strconv.Itoa(int(port)) + "_no_probe_rule is true")
		return nil, false, false
	case local && !hasOverride && !p.azurePortInvalid(AzurePortProbePort, port):
		warnProbeKeys(fmt.Sprintf("the Local Service is probed on spec.healthCheckNodePort (set %s to probe this port instead)", azurePortKey(AzurePortProbePort, port)))
		return &AzureProbe{Protocol: "Http", Port: p.svc.Spec.HealthCheckNodePort, RequestPath: azureLocalProbePath,
			IntervalSeconds: def.IntervalSeconds, NumOfProbe: def.NumOfProbe, HealthCheckNodePort: true}, false, false
	case !slices.Contains(pc.Protocols, v1.ProtocolTCP):
		warnProbeKeys("Azure gets no health probe for UDP or SCTP ports")
		return nil, false, false
	}
	pr = &AzureProbe{Protocol: def.Protocol, Port: pc.NodePort, IntervalSeconds: def.IntervalSeconds, NumOfProbe: def.NumOfProbe}
	if v, ok := pp.proto[port]; ok {
		pr.Protocol = v
	} else if a, ok := azureProbeProtocolOf(appProto); ok {
		pr.Protocol = a
	} else {
		usedProto = true
	}
	if hasOverride {
		pr.Port = p.azureResolveProbePort(port, override)
	}
	if pr.Protocol == "Tcp" {
		if _, set := p.ports[AzurePortProbeRequestPath][port]; set {
			p.azurePortWarn(AzurePortProbeRequestPath, port, "ignored: the probe protocol is Tcp")
		}
	} else if v, ok := pp.path[port]; ok {
		pr.RequestPath = v
	} else {
		pr.RequestPath, usedPath = def.RequestPath, true
	}
	p.azurePortProbeTiming(port, pr, pp)
	return pr, usedProto, usedPath
}

// azurePortProbeTiming applies the per-port interval and count and checks Azure's limit on them.
func (p *parser) azurePortProbeTiming(port int32, pr *AzureProbe, pp azurePortKeys) {
	iv, ivSet := pp.interval[port]
	nv, nvSet := pp.num[port]
	if ivSet {
		pr.IntervalSeconds = int32(iv)
	}
	if nvSet {
		pr.NumOfProbe = int32(nv)
	}
	bad := p.azurePortInvalid(AzurePortProbeInterval, port) || p.azurePortInvalid(AzurePortProbeNumOfProbe, port) ||
		p.invalid(AzureProbeInterval) || p.invalid(AzureProbeNumOfProbe)
	if prod := int64(pr.IntervalSeconds) * int64(pr.NumOfProbe); (ivSet || nvSet) && !bad && prod >= 120 {
		d := AzurePortProbeInterval
		if !ivSet {
			d = AzurePortProbeNumOfProbe
		}
		key := azurePortKey(d, port)
		p.errorf(key, p.svc.Annotations[key], "interval × num-of-probe below 120",
			"interval %d s × num-of-probe %d = %d s for port %d (per-port values, else the Service-wide ones); Azure requires less than 120 s",
			pr.IntervalSeconds, pr.NumOfProbe, prod, port)
	}
}

// azureProbeProtocolOf maps a spec.ports[].appProtocol to a probe protocol; other values
// (e.g. kubernetes.io/h2c) do not choose the probe.
func azureProbeProtocolOf(appProtocol string) (string, bool) {
	for _, a := range AzureProbeProtocol.Allowed {
		if strings.EqualFold(a, strings.TrimSpace(appProtocol)) {
			return a, true
		}
	}
	return "", false
}

// azureResolveProbePort turns a port_{port}_health-probe_port value into the node port to probe:
// a Service port name or number probes that port's nodePort, any other number is used as is.
func (p *parser) azureResolveProbePort(port int32, v string) int32 {
	if n, err := strconv.Atoi(v); err == nil {
		for _, sp := range p.svc.Spec.Ports {
			if sp.Port == int32(n) {
				return sp.NodePort
			}
		}
		return int32(n)
	}
	var names []string
	for _, sp := range p.svc.Spec.Ports {
		if sp.Name == v {
			return sp.NodePort
		}
		if sp.Name != "" {
			names = append(names, sp.Name)
		}
	}
	key := azurePortKey(AzurePortProbePort, port)
	allowed := "a port number 1-65535"
	if len(names) > 0 {
		allowed += " or one of the Service port names " + strings.Join(names, ", ")
	}
	p.errorf(key, v, allowed, "no Service port is named %q", v)
	return 0
}
