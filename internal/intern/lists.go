// Package intern keeps one copy of each distinct list of strings many holders share, such as the
// node or instance lists of the load balancers of one cluster, which are nearly all the same:
// at 1,000 nodes a list is tens of kilobytes, and a copy per load balancer grows as
// load balancers x nodes.
package intern

import (
	"crypto/sha256"
	"slices"
	"strings"
	"sync"
)

// Lists interns sorted string lists by content, counting their holders. The zero value is ready
// to use and safe for concurrent use. The lists it returns are shared: callers must not change
// them.
type Lists struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*list
}

type list struct {
	items []string
	refs  int
}

func key(sorted []string) [sha256.Size]byte {
	return sha256.Sum256([]byte(strings.Join(sorted, "\x00")))
}

// Intern returns the shared sorted copy of items and counts one more holder; nil for an empty
// list.
func (l *Lists) Intern(items []string) []string {
	if len(items) == 0 {
		return nil
	}
	sorted := items
	if !slices.IsSorted(items) {
		sorted = slices.Sorted(slices.Values(items))
	}
	k := key(sorted)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[[sha256.Size]byte]*list{}
	}
	if e, ok := l.m[k]; ok {
		e.refs++
		return e.items
	}
	own := slices.Clone(sorted)
	l.m[k] = &list{items: own, refs: 1}
	return own
}

// Release counts one holder of items (a list Intern returned) less; the list is forgotten with
// its last holder.
func (l *Lists) Release(items []string) {
	if len(items) == 0 {
		return
	}
	k := key(items)
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.m[k]; ok {
		if e.refs--; e.refs == 0 {
			delete(l.m, k)
		}
	}
}

// Len is the number of distinct lists held.
func (l *Lists) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// Holders is the number of holders of the list equal to items (0 when not held).
func (l *Lists) Holders(items []string) int {
	sorted := slices.Sorted(slices.Values(items))
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.m[key(sorted)]; ok {
		return e.refs
	}
	return 0
}
