package gce

import (
	"context"
	"errors"
)

// The first ensure (providers.FirstEnsure): nothing of ours can exist for the Service, so the
// reads that only look for the Service's own per-Service objects (<lb>'s address, target
// pool, backend service and traffic firewall, the rule <lb>-udp, and <lb> read again) are
// skipped, and Diff plans their inserts. What a create could collide with is still read: the
// rule <lb> (ensure reads it before), the user's address, health checks and every object the
// cluster's Services share.
//
// Skipping is safe because a Compute insert never overwrites: it answers 409 alreadyExists
// when the name is taken. insert, which otherwise takes 409 as success (a retried insert
// whose first attempt got through), turns a 409 on an object whose read was skipped into
// errSkippedExists, and ensure then runs the full path, which reads everything and refuses an
// object that is not ours (checkOwnership). So an object of another owner under one of the
// names is never written to nor deleted; the first ensure's own inserts before the 409 are
// ours and the full path finds them as such.

// errSkippedExists is an insert's 409 on an object whose read the first ensure skipped.
var errSkippedExists = errors.New("the object exists although the Service's first ensure did not read it")

// skipped is the objects, "<collection>/<name>" as in the insert's operation, whose reads
// one first ensure skipped. observe adds to it and insert reads it, in turn within one ensure.
type skipped map[string]bool

type skippedKey struct{}

// withFirstCreate marks ctx for ensure's first-ensure path (see above).
func withFirstCreate(ctx context.Context) context.Context {
	return context.WithValue(ctx, skippedKey{}, skipped{})
}

// skippedFrom returns the first ensure's skipped objects, nil outside its path.
func skippedFrom(ctx context.Context) skipped {
	s, _ := ctx.Value(skippedKey{}).(skipped)
	return s
}

// skip reports whether the read of name in collection is skipped, and records it: true only
// on a first ensure's path.
func (s skipped) skip(collection, name string) bool {
	if s == nil {
		return false
	}
	s[collection+"/"+name] = true
	return true
}
