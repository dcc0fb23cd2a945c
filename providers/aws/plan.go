package aws

import (
	"cmp"
	"context"

	"github.com/cloudlb/cloudlb/providers"
)

// A plan is what Diff hands Apply for one Service: the writes that make the cloud match the
// model, in the order Apply makes them. Each write is a value (a type of apply*.go) holding
// the input of its SDK call, except for the IDs of objects the plan itself creates first: a
// write names those by their model name (a ref), and Apply resolves them from the answer of
// the write that created them. A plan renders as a providers.Plan whose writes read like the
// audit trail of its Apply: the same operation names, objects and reasons.
type write interface {
	// audit is the write as the audit trail reports it (audit.go): its SDK operation, the
	// object its input names, and whether it creates or deletes that object. An object the
	// plan creates first is named by its model name.
	audit() providers.Write
	// apply makes the write's SDK call (apply*.go).
	apply(ctx context.Context, r *run) error
}

// step is one write of a plan, with why it is made and how its error reads.
type step struct {
	write
	// reason is the step of the plan the audit trail gives (providers.WithReason); "" keeps
	// the caller's.
	reason string
	// wrap prefixes the write's error ("ensuring NLB a1").
	wrap string
}

// steps is a plan: its writes in the order Apply makes them.
type steps []step

// add appends writes made for reason, whose errors are wrapped with wrap.
func (s *steps) add(reason, wrap string, ws ...write) {
	for _, w := range ws {
		*s = append(*s, step{write: w, reason: reason, wrap: wrap})
	}
}

// plan renders the steps as the providers.Plan of service.
func (s steps) plan(service string) *providers.Plan {
	p := &providers.Plan{Service: service, Cloud: ProviderName, Writes: []providers.Write{}}
	for _, st := range s {
		w := st.audit()
		w.Cloud, w.Reason = ProviderName, st.reason
		p.Writes = append(p.Writes, w)
	}
	return p
}

// ref names a cloud object in a plan: by its ID or ARN when Observe found it, else by the
// name the model gives it, which Apply resolves to the ID or ARN that the write creating it
// returned (run.resolve).
type ref struct{ id, name string }

// known is a ref to an object Observe found.
func known(id string) ref { return ref{id: id} }

// toCreate is a ref to an object an earlier write of the plan creates.
func toCreate(name string) ref { return ref{name: name} }

// String is how plans and the audit trail name the object.
func (r ref) String() string { return cmp.Or(r.id, r.name) }

// refs are refs to objects Observe found.
func refs(ids []string) []ref {
	var out []ref
	for _, id := range ids {
		out = append(out, known(id))
	}
	return out
}
