package fakeaws

// table keeps objects by ID in creation order, so Describe calls list them stably.
type table[T any] struct {
	ids []string
	m   map[string]*T
}

func newTable[T any]() *table[T] { return &table[T]{m: map[string]*T{}} }

func (t *table[T]) get(id string) (*T, bool) {
	v, ok := t.m[id]
	return v, ok
}

func (t *table[T]) put(id string, v *T) {
	if _, ok := t.m[id]; !ok {
		t.ids = append(t.ids, id)
	}
	t.m[id] = v
}

func (t *table[T]) del(id string) {
	if _, ok := t.m[id]; !ok {
		return
	}
	delete(t.m, id)
	for i, x := range t.ids {
		if x == id {
			t.ids = append(t.ids[:i:i], t.ids[i+1:]...)
			break
		}
	}
}

// list returns the objects in creation order.
func (t *table[T]) list() []*T {
	out := make([]*T, 0, len(t.ids))
	for _, id := range t.ids {
		out = append(out, t.m[id])
	}
	return out
}
