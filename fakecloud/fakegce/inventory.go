package fakegce

// Resource is one stored resource, for tests that assert on the fake's state without
// going through the API (and its call counters).
type Resource struct {
	// Kind is the API kind, e.g. "compute#forwardingRule".
	Kind string
	Name string
	// Scope is "regions/us-central1", "zones/us-central1-a" or "global".
	Scope string
	// SelfLink is the resource URL with the base URL of the latest request.
	SelfLink    string
	Description string
}

// Resources returns every resource but instances, networks and subnetworks, sorted by SelfLink.
func (s *Server) Resources() []Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Resource
	for _, link := range s.sortedLinks() {
		o := s.objects[link]
		if o.typ == instances || o.typ == networks || o.typ == subnetworks {
			continue
		}
		out = append(out, Resource{
			Kind: o.typ.kind, Name: o.name, Scope: o.scope,
			SelfLink: absLink(s.lastBase, o.link), Description: getString(o.msg, "description"),
		})
	}
	// Relative links are sorted and share one prefix, so the absolute ones are too.
	return out
}

// Members returns the instance names of an instance group, sorted; nil when the group
// does not exist.
func (s *Server) Members(zone, group string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[s.linkOf("zones/"+zone, "instanceGroups", group)]
	if !ok {
		return nil
	}
	out := []string{}
	for _, m := range o.members {
		out = append(out, lastSegment(m))
	}
	return out
}
