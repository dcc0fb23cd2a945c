package aws

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cloudlb/cloudlb/internal/intern"
)

func instanceList(n int, prefix string) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-%s%016d", prefix, i)
	}
	return ids
}

// The caches keep one copy of each distinct instance list, however many load balancers hold
// it, and forget it with its last holder.
func TestCachesInternInstanceLists(t *testing.T) {
	all, fewer := instanceList(1000, "a"), instanceList(999, "a")
	var nlbs nlbCache
	var classic classicCache
	for i := range 500 {
		nlbs.put(fmt.Sprintf("nlb-%d", i), nlbState{arn: fmt.Sprint(i), instances: slices.Clone(all)})
		classic.put(fmt.Sprintf("clb-%d", i), slices.Clone(all), nil)
	}
	nlbs.put("nlb-odd", nlbState{instances: fewer})
	classic.update("clb-0", func(s *classicState) { s.instances = s.instances[:999] })
	steps := []struct {
		name          string
		sets          *intern.Lists
		wantSets      int
		wantRefsOfAll int
	}{
		{"NLBs: 500 entries share the full list, one holds another", &nlbs.sets, 2, 500},
		{"Classic: update moved one entry to a second list", &classic.sets, 2, 499},
	}
	for _, s := range steps {
		if s.sets.Len() != s.wantSets {
			t.Errorf("%s: %d distinct lists kept, want %d", s.name, s.sets.Len(), s.wantSets)
		}
		if refs := s.sets.Holders(all); refs != s.wantRefsOfAll {
			t.Errorf("%s: the full list has %d holders, want %d", s.name, refs, s.wantRefsOfAll)
		}
	}

	// get returns a copy: changing it changes neither the cache nor the other holders.
	st, _ := nlbs.get("nlb-1")
	st.instances[0] = "i-changed"
	if again, _ := nlbs.get("nlb-2"); again.instances[0] != all[0] {
		t.Errorf("a caller's change reached the shared list: %q", again.instances[0])
	}
	cs, _ := classic.get("clb-0")
	if !slices.Equal(cs.instances, fewer) {
		t.Errorf("classic clb-0 instances = %d IDs, want the 999 the update left", len(cs.instances))
	}

	for i := range 500 {
		nlbs.drop(fmt.Sprintf("nlb-%d", i))
	}
	nlbs.put("nlb-odd", nlbState{}) // replaced by an entry without instances
	if nlbs.sets.Len() != 0 {
		t.Errorf("%d lists kept after every holder went, want 0", nlbs.sets.Len())
	}
}
