package fakegce

import (
	"slices"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

var targetPools = register(&rtype{
	api: "TargetPools", collection: "targetPools", kind: "compute#targetPool", scopeKind: "regions",
	newMsg: func() proto.Message { return &computepb.TargetPool{} },
	check:  checkTargetPool,
	verbs: map[string]verb{
		"addInstance":       {run: targetPoolInstances(true)},
		"removeInstance":    {run: targetPoolInstances(false)},
		"addHealthCheck":    {run: targetPoolHealthChecks(true)},
		"removeHealthCheck": {run: targetPoolHealthChecks(false)},
	},
})

func checkTargetPool(s *Server, _ *call, o, _ *object) error {
	tp := o.msg.(*computepb.TargetPool)
	if tp.SessionAffinity == nil {
		tp.SessionAffinity = proto.String("NONE")
	}
	switch tp.GetSessionAffinity() {
	case "NONE", "CLIENT_IP", "CLIENT_IP_PROTO":
	default:
		return errInvalidField("resource.sessionAffinity", tp.GetSessionAffinity(), "Must be NONE, CLIENT_IP or CLIENT_IP_PROTO.")
	}
	if err := s.checkTargetPoolHealthChecks(tp.HealthChecks); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, in := range tp.Instances {
		if err := s.checkInstance(in); err != nil {
			return err
		}
		if seen[in] {
			return errInvalidField("resource.instances", in, "Duplicate instance.")
		}
		seen[in] = true
	}
	if tp.GetBackupPool() != "" {
		if _, err := s.lookup(tp.GetBackupPool()); err != nil {
			return err
		}
	}
	return nil
}

// checkTargetPoolHealthChecks allows at most one health check, a legacy HTTP health check,
// the only kind target pools accept.
func (s *Server) checkTargetPoolHealthChecks(hcs []string) error {
	if len(hcs) > 1 {
		return errInvalidField("resource.healthChecks", hcs[1], "A target pool can have at most one health check.")
	}
	for _, hc := range hcs {
		if collectionOf(hc) != "httpHealthChecks" {
			return errInvalidField("resource.healthChecks", hc, "Target pools accept only legacy HTTP health checks (httpHealthChecks).")
		}
		if _, err := s.lookup(hc); err != nil {
			return err
		}
	}
	return nil
}

// checkInstance requires an instance link that exists.
func (s *Server) checkInstance(link string) error {
	if collectionOf(link) != "instances" {
		return errInvalidField("instance", link, "Must be an instance URL.")
	}
	_, err := s.lookup(link)
	return err
}

// targetPoolInstances serves addInstance and removeInstance. Adding a member again or
// removing a non-member changes nothing.
func targetPoolInstances(add bool) func(*Server, *call, *object) ([]byte, error) {
	return func(s *Server, c *call, o *object) ([]byte, error) {
		var in computepb.TargetPoolsAddInstanceRequest
		if err := decode(c.body, &in); err != nil {
			return nil, err
		}
		tp := proto.Clone(o.msg).(*computepb.TargetPool)
		for _, ref := range in.GetInstances() {
			link := canonicalLink(s.opts.Project, ref.GetInstance())
			if add {
				if err := s.checkInstance(link); err != nil {
					return nil, err
				}
				if !slices.Contains(tp.Instances, link) {
					tp.Instances = append(tp.Instances, link)
				}
				continue
			}
			tp.Instances = slices.DeleteFunc(tp.Instances, func(l string) bool { return l == link })
		}
		o.msg = tp
		return nil, nil
	}
}

// targetPoolHealthChecks serves addHealthCheck and removeHealthCheck.
func targetPoolHealthChecks(add bool) func(*Server, *call, *object) ([]byte, error) {
	return func(s *Server, c *call, o *object) ([]byte, error) {
		var in computepb.TargetPoolsAddHealthCheckRequest
		if err := decode(c.body, &in); err != nil {
			return nil, err
		}
		tp := proto.Clone(o.msg).(*computepb.TargetPool)
		for _, ref := range in.GetHealthChecks() {
			link := canonicalLink(s.opts.Project, ref.GetHealthCheck())
			if add {
				if !slices.Contains(tp.HealthChecks, link) {
					tp.HealthChecks = append(tp.HealthChecks, link)
				}
				continue
			}
			tp.HealthChecks = slices.DeleteFunc(tp.HealthChecks, func(l string) bool { return l == link })
		}
		if err := s.checkTargetPoolHealthChecks(tp.HealthChecks); err != nil {
			return nil, err
		}
		o.msg = tp
		return nil, nil
	}
}
