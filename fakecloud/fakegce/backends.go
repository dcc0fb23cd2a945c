package fakegce

import (
	"slices"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// A record of load balancer backends going empty, for migration tests: a controller taking
// over (or handing back) a load balancer must never leave a target pool without instances,
// an instance group without members or a backend service without backends, even for one
// call, and must not delete one that had some. The server notes after every write which
// target pools, instance groups and backend services went from some members to none (or
// away); Emptied lists those moments.

// Emptying is one target pool, instance group or backend service that had members and then
// had none, or was deleted with them.
type Emptying struct {
	// Kind is "targetPool", "instanceGroup" or "backendService"; Name is the object's.
	Kind, Name string
	// Call is the write that emptied it, e.g. "TargetPools.RemoveInstance".
	Call string
	// Before is how many members it had.
	Before int
}

// backendLog is the state the record needs: the member count of every backend holder after
// the last write.
type backendLog struct {
	sizes    map[string]int // by self link
	emptying []Emptying
}

// backendKind names the holders of members the record follows, "" for other types.
func backendKind(o *object) string {
	switch o.typ {
	case targetPools:
		return "targetPool"
	case instanceGroups:
		return "instanceGroup"
	case regionBackendServices:
		return "backendService"
	}
	return ""
}

func backendSize(o *object) int {
	switch m := o.msg.(type) {
	case *computepb.TargetPool:
		return len(m.GetInstances())
	case *computepb.BackendService:
		return len(m.GetBackends())
	}
	return len(o.members)
}

// noteBackends runs after a write that succeeded, under s.mu.
func (s *Server) noteBackends(call string) {
	l := &s.backends
	if l.sizes == nil {
		l.sizes = map[string]int{}
	}
	seen := map[string]bool{}
	for link, o := range s.objects {
		kind := backendKind(o)
		if kind == "" {
			continue
		}
		seen[link] = true
		n := backendSize(o)
		if before := l.sizes[link]; before > 0 && n == 0 {
			l.emptying = append(l.emptying, Emptying{Kind: kind, Name: o.name, Call: call, Before: before})
		}
		l.sizes[link] = n
	}
	for _, link := range sortedKeys(l.sizes) {
		if !seen[link] {
			if before := l.sizes[link]; before > 0 {
				l.emptying = append(l.emptying, Emptying{Kind: kindOfLink(link), Name: link[strings.LastIndexByte(link, '/')+1:], Call: call, Before: before})
			}
			delete(l.sizes, link)
		}
	}
}

// Emptied returns every time a target pool, instance group or backend service lost its last
// member or was deleted with members, oldest first.
func (s *Server) Emptied() []Emptying {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.backends.emptying)
}

func kindOfLink(link string) string {
	switch collectionOf(link) {
	case "targetPools":
		return "targetPool"
	case "instanceGroups":
		return "instanceGroup"
	}
	return "backendService"
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
