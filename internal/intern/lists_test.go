package intern

import (
	"fmt"
	"slices"
	"testing"
)

func TestLists(t *testing.T) {
	var l Lists
	a := []string{"n1", "n2", "n3"}
	first := l.Intern(a)
	second := l.Intern([]string{"n3", "n1", "n2"}) // the same set, unsorted
	if &first[0] != &second[0] {
		t.Error("equal lists are not shared")
	}
	if !slices.Equal(first, a) {
		t.Errorf("interned %v, want %v", first, a)
	}
	a[0] = "changed"
	if first[0] != "n1" {
		t.Error("the interned list aliases the caller's slice")
	}
	other := l.Intern([]string{"n1"})
	steps := []struct {
		name            string
		do              func()
		wantLen, holder int
	}{
		{"two holders of one list, one of another", func() {}, 2, 2},
		{"one holder released", func() { l.Release(first) }, 2, 1},
		{"the last holder released", func() { l.Release(second) }, 1, 0},
		{"the other released", func() { l.Release(other) }, 0, 0},
		{"releasing what is not held does nothing", func() { l.Release([]string{"x"}) }, 0, 0},
	}
	for _, s := range steps {
		s.do()
		if l.Len() != s.wantLen || l.Holders([]string{"n1", "n2", "n3"}) != s.holder {
			t.Errorf("%s: %d lists, %d holders; want %d, %d", s.name, l.Len(), l.Holders([]string{"n1", "n2", "n3"}), s.wantLen, s.holder)
		}
	}
	if l.Intern(nil) != nil || l.Len() != 0 {
		t.Error("an empty list is interned")
	}
}

func BenchmarkInternSharedList(b *testing.B) {
	nodes := make([]string, 1000)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("node-%04d", i)
	}
	var l Lists
	for b.Loop() {
		l.Release(l.Intern(nodes))
	}
}
