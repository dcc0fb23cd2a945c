package fakegce

import (
	"fmt"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

var regionBackendServices = register(&rtype{
	api: "RegionBackendServices", collection: "backendServices", kind: "compute#backendService", scopeKind: "regions",
	newMsg:   func() proto.Message { return &computepb.BackendService{} },
	canPatch: true, canUpdate: true, fingerprint: fpRequired,
	check: checkBackendService,
})

func checkBackendService(s *Server, _ *call, o, old *object) error {
	bs := o.msg.(*computepb.BackendService)
	if bs.LoadBalancingScheme == nil {
		bs.LoadBalancingScheme = proto.String("EXTERNAL")
	}
	scheme := bs.GetLoadBalancingScheme()
	if scheme != "EXTERNAL" && scheme != "INTERNAL" {
		return errInvalidField("resource.loadBalancingScheme", scheme, "fakegce serves EXTERNAL and INTERNAL passthrough backend services only.")
	}
	if old != nil {
		if was := old.msg.(*computepb.BackendService).GetLoadBalancingScheme(); was != scheme {
			return errInvalidField("resource.loadBalancingScheme", scheme, "The load balancing scheme of a backend service cannot be changed.")
		}
	}
	if bs.Protocol == nil {
		bs.Protocol = proto.String("TCP")
	}
	switch bs.GetProtocol() {
	case "TCP", "UDP", "UNSPECIFIED":
	default:
		return errInvalidField("resource.protocol", bs.GetProtocol(), "Passthrough backend services take TCP, UDP or UNSPECIFIED.")
	}
	if old != nil && old.msg.(*computepb.BackendService).GetProtocol() != bs.GetProtocol() {
		if user := s.forwardingRuleUsing(o.link); user != "" {
			return errInUse("backend_service", o.link, user)
		}
	}
	if bs.SessionAffinity == nil {
		bs.SessionAffinity = proto.String("NONE")
	}
	switch bs.GetSessionAffinity() {
	case "NONE", "CLIENT_IP", "CLIENT_IP_PROTO", "CLIENT_IP_PORT_PROTO":
	default:
		return errInvalidField("resource.sessionAffinity", bs.GetSessionAffinity(), "Unsupported session affinity for a passthrough backend service.")
	}
	if len(bs.HealthChecks) > 1 {
		return errInvalidField("resource.healthChecks", bs.HealthChecks[1], "A backend service can have at most one health check.")
	}
	for _, hc := range bs.HealthChecks {
		h, err := s.lookup(hc)
		if err != nil {
			return err
		}
		if h.typ != healthChecks && h.typ != regionHealthChecks {
			return errInvalidField("resource.healthChecks", hc, "Backend services take health checks (not legacy httpHealthChecks).")
		}
	}
	seen := map[string]bool{}
	for i, b := range bs.Backends {
		g := b.GetGroup()
		if seen[g] {
			return errInvalidField(fmt.Sprintf("resource.backends[%d].group", i), g, "Duplicate backend group.")
		}
		seen[g] = true
		ig, err := s.lookup(g)
		if err != nil {
			return err
		}
		if ig.typ != instanceGroups {
			return errInvalidField(fmt.Sprintf("resource.backends[%d].group", i), g, "Must be an instance group URL.")
		}
		if !strings.HasPrefix(ig.scope, "zones/"+strings.TrimPrefix(o.scope, "regions/")+"-") {
			return errInvalidField(fmt.Sprintf("resource.backends[%d].group", i), g, "The instance group is not in the backend service's region.")
		}
		if b.BalancingMode == nil {
			b.BalancingMode = proto.String("CONNECTION")
		}
		if m := b.GetBalancingMode(); m != "CONNECTION" {
			return errInvalidField(fmt.Sprintf("resource.backends[%d].balancingMode", i), m, "Passthrough load balancers take balancingMode CONNECTION.")
		}
	}
	if scheme == "INTERNAL" && bs.GetNetwork() != "" {
		if _, err := s.lookup(bs.GetNetwork()); err != nil {
			return err
		}
	}
	return nil
}

// forwardingRuleUsing is the forwarding rule pointing at a backend service, "" for none.
func (s *Server) forwardingRuleUsing(bs string) string {
	for _, link := range s.sortedLinks() {
		if fr, ok := s.objects[link].msg.(*computepb.ForwardingRule); ok && fr.GetBackendService() == bs {
			return link
		}
	}
	return ""
}
