package fakegce

import (
	"errors"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// types maps "<scope kind>/<collection>" to its collection description.
var types = map[string]*rtype{}

func register(t *rtype) *rtype {
	types[t.scopeKind+"/"+t.collection] = t
	return t
}

// dispatch runs one call under s.mu and returns the response body. opFail makes a write
// end in an operation failed with it, without running it.
func (s *Server) dispatch(c *call, opFail *opError) ([]byte, error) {
	if strings.HasSuffix(c.api, "Operations") {
		return s.serveOperation(c)
	}
	if c.scope == "project" {
		return s.serveLocations(c)
	}
	if c.scope == "aggregated" {
		return s.aggregatedList(c, types[zonalOrRegional(c.collection)])
	}
	t := types[c.scopeKind()+"/"+c.collection]
	if t == nil {
		return nil, errBadMethod(c.httpMethod, c.collection)
	}
	switch c.method {
	case "Get":
		return s.get(c, t)
	case "List":
		return s.list(c, t)
	}
	var run func() (*object, error)
	switch c.method {
	case "Insert":
		run = func() (*object, error) { return s.insert(c, t) }
	case "Delete":
		run = func() (*object, error) { return s.delete(c, t) }
	case "Patch", "Update":
		if (c.method == "Patch" && !t.canPatch) || (c.method == "Update" && !t.canUpdate) {
			return nil, errBadMethod(c.httpMethod, c.collection)
		}
		run = func() (*object, error) { return s.patchOrUpdate(c, t, c.method == "Update") }
	default:
		v, ok := t.verbs[c.verb]
		if !ok {
			return nil, errBadMethod(c.httpMethod, c.collection+"/"+c.verb)
		}
		o, err := s.lookup(s.linkOf(c.scope, t.collection, c.name))
		if err != nil {
			return nil, err
		}
		if v.read {
			return v.run(s, c, o)
		}
		run = func() (*object, error) {
			if _, err := v.run(s, c, o); err != nil {
				return nil, err
			}
			if t.fingerprint != fpNone {
				// Any change of a fingerprinted resource invalidates the fingerprint clients hold.
				setString(o.msg, "fingerprint", s.fingerprint())
			}
			return o, nil
		}
	}
	if t.readOnly {
		return nil, errBadMethod(c.httpMethod, c.collection)
	}
	// A retried write with the same requestId gets the first attempt's operation, as in GCE.
	rid := c.query.Get("requestId")
	if op, ok := s.requests[rid]; ok && rid != "" {
		return c.encode(op)
	}
	op, err := s.runWrite(c, run, opFail)
	if err != nil {
		return nil, err
	}
	s.noteBackends(c.callKey())
	if rid != "" {
		s.requests[rid] = op
	}
	return c.encode(op)
}

// runWrite runs a write and records its operation; synchronous errors come back as errors,
// failures GCE reports inside the operation (and injected ones) as a failed operation.
func (s *Server) runWrite(c *call, run func() (*object, error), opFail *opError) (*computepb.Operation, error) {
	if opFail != nil {
		return s.newOperation(c, nil, opFail), nil
	}
	target, err := run()
	var oe *opError
	if errors.As(err, &oe) {
		return s.newOperation(c, nil, oe), nil
	}
	if err != nil {
		return nil, err
	}
	return s.newOperation(c, target, nil), nil
}

// zonalOrRegional finds the collection type behind an aggregated list.
func zonalOrRegional(collection string) string {
	if _, ok := types["zones/"+collection]; ok {
		return "zones/" + collection
	}
	return "regions/" + collection
}
